-- Audit records are not projections.
--
-- finding_changes is what auditors rely on: every raise and withdrawal of a
-- finding. It was keyed by findings.id, so a rebuild that emptied findings
-- took it along. It is now keyed by the finding's stable key, carries what it
-- is about, and is append-only like the events: no rebuild touches it.
--
-- Projections are disposable: a rebuild fills fresh tables in the schema
-- callaudit_rebuild and swaps them in, in one transaction, so readers never
-- wait on or see a half-built projection. That needs the service's group
-- role to own the projection tables and to create tables.

ALTER TABLE finding_changes
    ADD COLUMN id            bigint GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN finding_key   text COLLATE "C",
    ADD COLUMN rule          text COLLATE "C",
    ADD COLUMN occurred_at   timestamptz,
    ADD COLUMN call_id       text,
    ADD COLUMN recording_id  text,
    ADD COLUMN party_id      text,
    ADD COLUMN request_id    text,
    ADD COLUMN fingerprint   text;

UPDATE finding_changes c
SET finding_key = f.finding_key, rule = f.rule, occurred_at = f.occurred_at, call_id = f.call_id,
    recording_id = f.recording_id, party_id = f.party_id, request_id = f.request_id, fingerprint = f.fingerprint
FROM findings f WHERE f.id = c.finding_id;

ALTER TABLE finding_changes
    DROP COLUMN finding_id,
    ALTER COLUMN finding_key SET NOT NULL,
    ALTER COLUMN rule SET NOT NULL,
    ALTER COLUMN occurred_at SET NOT NULL,
    ALTER COLUMN fingerprint SET NOT NULL,
    ADD PRIMARY KEY (id);

DROP INDEX IF EXISTS finding_changes_finding;
CREATE INDEX finding_changes_key ON finding_changes (finding_key, id);
CREATE INDEX finding_changes_changed ON finding_changes (changed_at);

COMMENT ON TABLE finding_changes IS 'Audit record: every raise and withdrawal of a finding. Append-only; rebuilds never touch it.';

CREATE TRIGGER finding_changes_no_update_or_delete
    BEFORE UPDATE OR DELETE ON finding_changes
    FOR EACH ROW EXECUTE FUNCTION callaudit_reject_change();

CREATE TRIGGER finding_changes_no_truncate
    BEFORE TRUNCATE ON finding_changes
    FOR EACH STATEMENT EXECUTE FUNCTION callaudit_reject_change();

REVOKE ALL ON finding_changes FROM callaudit_writer;
GRANT SELECT, INSERT ON finding_changes TO callaudit_writer;

-- Projection tables belong to the service's group role, which rebuilds them.
-- Handing a table to a role needs membership in it (superusers have it).
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'callaudit_writer', 'MEMBER') THEN
        EXECUTE format('GRANT callaudit_writer TO %I', current_user);
    END IF;
END
$$;
ALTER TABLE projection_daily_volume OWNER TO callaudit_writer;
ALTER TABLE compliance_calls OWNER TO callaudit_writer;
ALTER TABLE compliance_recordings OWNER TO callaudit_writer;
ALTER TABLE compliance_holds OWNER TO callaudit_writer;
ALTER TABLE compliance_requests OWNER TO callaudit_writer;
ALTER TABLE compliance_subject_calls OWNER TO callaudit_writer;
ALTER TABLE compliance_deadlines OWNER TO callaudit_writer;
ALTER TABLE findings OWNER TO callaudit_writer;

CREATE SCHEMA callaudit_rebuild AUTHORIZATION callaudit_writer;
COMMENT ON SCHEMA callaudit_rebuild IS 'Where projections are rebuilt before they are swapped in; empty outside a rebuild transaction.';
-- Swapping a rebuilt table in moves it into public.
GRANT CREATE ON SCHEMA public TO callaudit_writer;

-- A rebuild asked of whichever instance leads the projection.
ALTER TABLE projection_checkpoints ADD COLUMN rebuild_requested boolean NOT NULL DEFAULT false;

-- `projections status` names the session holding back the projections'
-- horizon; other roles' transaction ids are visible with pg_read_all_stats.
-- Granting it needs a superuser (or its admin option); without it status
-- still works but can only name sessions of its own role.
DO $$
BEGIN
    GRANT pg_read_all_stats TO callaudit_writer, callaudit_reader;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_read_all_stats not granted: projections status will not see other roles'' transactions';
END
$$;
