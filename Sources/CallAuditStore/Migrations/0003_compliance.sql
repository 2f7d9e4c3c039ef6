-- The compliance projection: facts per call, recording, legal hold and subject
-- request (re-judged whenever one of their events arrives, in any order), and
-- the findings with every raise and withdrawal kept.

CREATE TABLE compliance_calls (
    call_id   text COLLATE "C" PRIMARY KEY,
    facts     json NOT NULL
);

CREATE TABLE compliance_recordings (
    recording_id text COLLATE "C" PRIMARY KEY,
    call_id      text COLLATE "C",
    facts        json NOT NULL
);
CREATE INDEX compliance_recordings_call ON compliance_recordings (call_id);

CREATE TABLE compliance_holds (
    hold_id   text COLLATE "C" PRIMARY KEY,
    facts     json NOT NULL
);

CREATE TABLE compliance_requests (
    request_id  text COLLATE "C" PRIMARY KEY,
    -- SHA-256 of the request's identifiers, never the identifiers themselves.
    subject_keys text[] NOT NULL,
    facts        json NOT NULL
);

-- Which calls a person (by SHA-256 of an identifier) took part in: how an
-- erasure request finds the subject's recordings without storing identifiers.
CREATE TABLE compliance_subject_calls (
    subject_key text COLLATE "C" NOT NULL,
    call_id     text COLLATE "C" NOT NULL,
    PRIMARY KEY (subject_key, call_id)
);

-- When a subject's verdict changes by the clock alone (retention, request deadlines).
CREATE TABLE compliance_deadlines (
    subject     text COLLATE "C" PRIMARY KEY,
    due_at      timestamptz NOT NULL,
    judged_after_due boolean NOT NULL DEFAULT false
);
CREATE INDEX compliance_deadlines_pending ON compliance_deadlines (due_at) WHERE NOT judged_after_due;

CREATE TABLE findings (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    finding_key     text COLLATE "C" NOT NULL UNIQUE,
    subject         text COLLATE "C" NOT NULL,
    rule            text COLLATE "C" NOT NULL,
    severity        text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    call_id         text,
    recording_id    text,
    party_id        text,
    request_id      text,
    jurisdiction    text,
    citation        text NOT NULL,
    evidence        text[] NOT NULL,
    detail          text NOT NULL,
    policy_version  text NOT NULL,
    policy_hash     text NOT NULL,
    status          text NOT NULL CHECK (status IN ('open', 'withdrawn')),
    changed_at      timestamptz NOT NULL DEFAULT now(),
    -- All of the above that a re-judgement can change, so unchanged findings are not rewritten.
    fingerprint     text NOT NULL
);
CREATE INDEX findings_subject ON findings (subject);
CREATE INDEX findings_occurred ON findings (occurred_at, rule);

-- Every raise, withdrawal and re-raise, never rewritten: what auditors see changed.
CREATE TABLE finding_changes (
    finding_id  bigint NOT NULL REFERENCES findings (id),
    change      text NOT NULL CHECK (change IN ('raised', 'withdrawn')),
    changed_at  timestamptz NOT NULL DEFAULT now(),
    log_position bigint
);
CREATE INDEX finding_changes_finding ON finding_changes (finding_id);

REVOKE ALL ON compliance_calls, compliance_recordings, compliance_holds, compliance_requests, compliance_subject_calls,
    compliance_deadlines, findings, finding_changes FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON compliance_calls, compliance_recordings, compliance_holds, compliance_requests,
    compliance_subject_calls, compliance_deadlines, findings, finding_changes TO callaudit_writer;
GRANT SELECT ON findings, finding_changes TO callaudit_reader;
