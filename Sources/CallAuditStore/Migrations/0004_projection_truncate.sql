-- Rebuilds empty projection tables with TRUNCATE: a DELETE leaves every old row
-- and index entry behind for the rebuild's COPY to wade through. TRUNCATE
-- locks readers out until the rebuild commits, so they never see it half done.
GRANT TRUNCATE ON projection_daily_volume, compliance_calls, compliance_recordings, compliance_holds, compliance_requests,
    compliance_subject_calls, compliance_deadlines, findings, finding_changes TO callaudit_writer;
