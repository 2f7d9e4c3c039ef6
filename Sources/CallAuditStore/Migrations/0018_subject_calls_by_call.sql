-- Which persons took part in a call, by the call, and which requests name a
-- person: a batch that changes a call or one of its recordings judges again
-- the overdue requests of the persons in it, as a rebuild judges
-- every request with all its recordings. Both lookups run once a batch.
CREATE INDEX compliance_subject_calls_call ON compliance_subject_calls (call_id);
CREATE INDEX compliance_requests_subjects ON compliance_requests USING gin (subject_keys);
