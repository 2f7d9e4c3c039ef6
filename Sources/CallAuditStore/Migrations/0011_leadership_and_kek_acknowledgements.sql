-- Leadership epochs: fencing for the instance that leads ingest, a projection
-- or the report scheduler.
--
-- Leadership itself is a session advisory lock. A lock alone cannot stop a
-- leader that was frozen (SIGSTOP, a paused VM) and resumes after a successor
-- took over: it still believes it leads and has batches in flight. So each
-- time an instance takes a lock it bumps the row's epoch here, and every
-- transaction a leader commits reads the row FOR SHARE and compares the
-- epoch with the one it was given: a mismatch rolls the transaction back.
-- FOR SHARE also orders the two: a successor's bump waits for a committing
-- old leader, and once bumped no old leader's transaction passes the check.
CREATE TABLE leaderships (
    name text PRIMARY KEY CHECK (name <> '' AND length(name) <= 200),
    epoch bigint NOT NULL CHECK (epoch > 0),
    -- Who took it: host, process id and application name, for the status board (no personal data).
    holder text NOT NULL CHECK (length(holder) <= 200),
    acquired_at timestamptz NOT NULL
);

-- Rows are only ever bumped, never removed: the epoch must not go back to 1.
GRANT SELECT, INSERT, UPDATE ON leaderships TO callaudit_writer;
GRANT SELECT ON leaderships TO callaudit_reader;

-- Key-encryption keys across hosts.
--
-- Each running instance says which KEK it wraps new data keys with, and
-- refreshes that every 5 s; `keys retire-kek` refuses while a live instance
-- (refreshed within 60 s) still names the old KEK.
CREATE TABLE kek_acknowledgements (
    instance text PRIMARY KEY CHECK (instance <> '' AND length(instance) <= 200),
    kek_id text NOT NULL CHECK (kek_id <> '' AND length(kek_id) <= 64),
    acknowledged_at timestamptz NOT NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON kek_acknowledgements TO callaudit_writer;
GRANT SELECT ON kek_acknowledgements TO callaudit_reader;

-- A retired KEK: removed from the KEK file, so nothing may be wrapped with it
-- again. The triggers below refuse any write of a key wrapped with one, so an
-- instance whose KEK file was not updated cannot strand a person's key: its
-- batch fails (and is retried) instead of storing a key nobody can open.
CREATE TABLE kek_retirements (
    kek_id text PRIMARY KEY CHECK (kek_id <> '' AND length(kek_id) <= 64),
    retired_at timestamptz NOT NULL
);
GRANT SELECT, INSERT ON kek_retirements TO callaudit_writer;
GRANT SELECT ON kek_retirements TO callaudit_reader;

-- One statement's new wrapped keys against the retirements. The shared
-- transaction-level advisory lock orders it with `retire-kek`, which takes
-- the same lock exclusively to count and record in one transaction: a
-- retirement waits for writes in flight, and writes after it see it.
-- SQLSTATE CA001 is CallAudit's own: transient for the writer (retried until
-- the instance's KEK file is current), never a dead letter.
CREATE FUNCTION callaudit_refuse_retired_kek() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    retired text;
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock_shared(pg_catalog.hashtextextended('callaudit.kek', 0));
    SELECT r.kek_id INTO retired FROM new_rows n JOIN public.kek_retirements r ON r.kek_id = n.kek_id LIMIT 1;
    IF retired IS NOT NULL THEN
        RAISE EXCEPTION 'KEK % was retired: this instance''s KEK file is out of date; give it the current KEK file', retired
            USING ERRCODE = 'CA001';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER subjects_refuse_retired_kek_insert AFTER INSERT ON subjects
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION callaudit_refuse_retired_kek();
CREATE TRIGGER subjects_refuse_retired_kek_update AFTER UPDATE ON subjects
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION callaudit_refuse_retired_kek();
CREATE TRIGGER vault_keys_refuse_retired_kek_insert AFTER INSERT ON vault_keys
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION callaudit_refuse_retired_kek();
CREATE TRIGGER vault_keys_refuse_retired_kek_update AFTER UPDATE ON vault_keys
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION callaudit_refuse_retired_kek();
CREATE TRIGGER dead_letters_refuse_retired_kek_insert AFTER INSERT ON dead_letters
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION callaudit_refuse_retired_kek();
CREATE TRIGGER dead_letters_refuse_retired_kek_update AFTER UPDATE ON dead_letters
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION callaudit_refuse_retired_kek();
