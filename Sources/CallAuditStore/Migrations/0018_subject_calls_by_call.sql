-- Which persons took part in a call, by the call: a batch that changes a
-- call or one of its recordings judges again the subject requests of the
-- persons in it, as a rebuild judges every request with all its recordings.
CREATE INDEX compliance_subject_calls_call ON compliance_subject_calls (call_id);
