-- The auditor's surface: what reports are computed from, the reports
-- themselves (audit records), and the API's tokens.

-- The activity projection: typed rows per call, recording, access and legal
-- hold, what a period's report summarises. Disposable like every
-- projection; owned by the service's group role so it can be rebuilt.
CREATE TABLE activity_calls (
    call_id            text COLLATE "C" PRIMARY KEY,
    started_at         timestamptz,
    first_recorded_at  timestamptz,
    -- The consent regime the call is judged by: the strictest of its parties' jurisdictions.
    regime             text
);
CREATE INDEX activity_calls_started ON activity_calls (started_at);

CREATE TABLE activity_recordings (
    recording_id     text COLLATE "C" PRIMARY KEY,
    call_id          text COLLATE "C",
    stored_at        timestamptz,
    deleted_at       timestamptz,
    deletion_reason  text,
    deletion_method  text
);
CREATE INDEX activity_recordings_stored ON activity_recordings (stored_at);
CREATE INDEX activity_recordings_deleted ON activity_recordings (deleted_at);

-- One row per recording.accessed or recording.shared event.
CREATE TABLE activity_accesses (
    position          bigint PRIMARY KEY,
    event_id          text NOT NULL,
    recording_id      text COLLATE "C" NOT NULL,
    occurred_at       timestamptz NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('accessed', 'shared')),
    actor_id          text NOT NULL,
    actor_role        text NOT NULL,
    action            text,
    purpose           text,
    anonymized        boolean NOT NULL DEFAULT false,
    recipient_country text,
    legal_basis       text
);
CREATE INDEX activity_accesses_time ON activity_accesses (occurred_at);

CREATE TABLE activity_holds (
    hold_id        text COLLATE "C" PRIMARY KEY,
    placed_at      timestamptz,
    released_at    timestamptz,
    recording_ids  text[] NOT NULL DEFAULT '{}'
);

ALTER TABLE activity_calls OWNER TO callaudit_writer;
ALTER TABLE activity_recordings OWNER TO callaudit_writer;
ALTER TABLE activity_accesses OWNER TO callaudit_writer;
ALTER TABLE activity_holds OWNER TO callaudit_writer;
GRANT SELECT ON activity_calls, activity_recordings, activity_accesses, activity_holds TO callaudit_reader;

-- A finding whose details changed (new evidence, say) without being raised
-- or withdrawn is a change too: a closed report that listed it gets a new version.
ALTER TABLE finding_changes DROP CONSTRAINT finding_changes_change_check;
ALTER TABLE finding_changes ADD CONSTRAINT finding_changes_change_check CHECK (change IN ('raised', 'withdrawn', 'changed'));

-- Audit reports: records, not projections. Each version is stored once as the
-- canonical JSON that was signed, with its detached signature; nothing
-- updates or deletes them, and no rebuild touches them.
CREATE TABLE audit_reports (
    report_id         text COLLATE "C" NOT NULL,
    version           integer NOT NULL CHECK (version >= 1),
    kind              text NOT NULL CHECK (kind IN ('day', 'week', 'month', 'quarter', 'custom')),
    status            text NOT NULL CHECK (status IN ('final', 'provisional')),
    period_start      timestamptz NOT NULL,
    period_end        timestamptz NOT NULL,
    time_zone         text NOT NULL,
    generated_at      timestamptz NOT NULL,
    -- RFC 8785 canonical JSON: exactly the bytes the signature covers.
    body              bytea NOT NULL,
    body_sha256       bytea NOT NULL CHECK (length(body_sha256) = 32),
    -- {"alg":"Ed25519","key_id":…,"signature":base64}
    signature         text NOT NULL,
    key_id            text NOT NULL,
    -- SHA-256 over the period's open findings (key and fingerprint): a closed
    -- period gets a new version when this changes.
    findings_digest   text NOT NULL,
    findings          integer NOT NULL,
    through_position  bigint NOT NULL,
    PRIMARY KEY (report_id, version),
    CHECK (period_start < period_end)
);
CREATE INDEX audit_reports_period ON audit_reports (period_start, period_end);

-- A month's report is tens of megabytes of JSON: lz4 compresses it several
-- times faster than the default pglz, where the server was built with it.
DO $$
BEGIN
    ALTER TABLE audit_reports ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 is not available: report bodies are compressed with pglz';
END
$$;

COMMENT ON TABLE audit_reports IS 'Audit record: every version of every report, as signed. Append-only.';

CREATE TRIGGER audit_reports_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_reports
    FOR EACH ROW EXECUTE FUNCTION callaudit_reject_change();

CREATE TRIGGER audit_reports_no_truncate
    BEFORE TRUNCATE ON audit_reports
    FOR EACH STATEMENT EXECUTE FUNCTION callaudit_reject_change();

REVOKE ALL ON audit_reports FROM PUBLIC;
GRANT SELECT, INSERT ON audit_reports TO callaudit_writer;
GRANT SELECT ON audit_reports TO callaudit_reader;

-- Where the report scheduler has read finding_changes to: closed periods
-- touched by later changes are checked for a new version.
CREATE TABLE report_schedule (
    name            text PRIMARY KEY,
    last_change_id  bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE ON report_schedule TO callaudit_writer;

-- API tokens: only a SHA-256 of each token is kept. Revoked tokens stay, for the record.
CREATE TABLE api_tokens (
    name        text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
    role        text NOT NULL CHECK (role IN ('auditor', 'dpo', 'ops', 'admin')),
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
REVOKE ALL ON api_tokens FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON api_tokens TO callaudit_writer;
