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
-- The service reads them; only callaudit_take_leadership writes them, so a
-- stolen service credential can neither lower an epoch (letting a stale
-- leader's fence pass), nor bump one in a loop or to bigint's end.
GRANT SELECT ON leaderships TO callaudit_writer, callaudit_reader;

-- Bumps `lock_name`'s epoch for the session that holds its advisory lock
-- (pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended(lock_name, 0)))
-- and returns it; refuses any other session. The owner's, so the table stays
-- closed to the service.
CREATE FUNCTION callaudit_take_leadership(lock_name text, lock_holder text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    key bigint := pg_catalog.hashtextextended(lock_name, 0);
    taken bigint;
BEGIN
    -- A bigint advisory key shows in pg_locks as classid (high half), objid (low half), objsubid 1.
    IF NOT EXISTS (
        SELECT FROM pg_catalog.pg_locks l
        WHERE l.locktype = 'advisory' AND l.pid = pg_catalog.pg_backend_pid() AND l.granted AND l.objsubid = 1
          AND l.mode = 'ExclusiveLock'
          AND l.classid = ((key >> 32) & 4294967295)::oid AND l.objid = (key & 4294967295)::oid
    ) THEN
        RAISE EXCEPTION 'this session does not hold the leadership lock %', lock_name USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO public.leaderships AS l (name, epoch, holder, acquired_at) VALUES (lock_name, 1, lock_holder, pg_catalog.now())
    ON CONFLICT (name) DO UPDATE SET epoch = l.epoch + 1, holder = excluded.holder, acquired_at = excluded.acquired_at
    RETURNING l.epoch INTO taken;
    RETURN taken;
END $$;
REVOKE ALL ON FUNCTION callaudit_take_leadership(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION callaudit_take_leadership(text, text) TO callaudit_writer;

-- The current epoch of `lock_name`, share-locked until the caller's
-- transaction ends: a leader's fence check. (FOR SHARE needs UPDATE on the
-- table, which the service does not get; the row lock belongs to the
-- caller's transaction all the same.)
CREATE FUNCTION callaudit_leadership_epoch(lock_name text) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT l.epoch FROM public.leaderships l WHERE l.name = lock_name FOR SHARE
$$;
REVOKE ALL ON FUNCTION callaudit_leadership_epoch(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION callaudit_leadership_epoch(text) TO callaudit_writer;

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
GRANT SELECT ON kek_retirements TO callaudit_writer, callaudit_reader;

-- Records `kek` as retired, re-checking as the owner what `keys retire-kek`
-- checked (the caller holds the exclusive 'callaudit.kek' lock): it is not
-- the current KEK, no instance acknowledged it within 60 s, and no key is
-- wrapped with it. The service cannot insert a retirement itself: retiring
-- the current KEK would stop every write of a person's key.
CREATE FUNCTION callaudit_record_kek_retirement(kek text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- A snapshot older than the lock could miss keys wrapped just before it.
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'retire a KEK in a read committed transaction' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('callaudit.kek', 0));
    IF EXISTS (SELECT FROM public.vault_epoch WHERE kek_current = kek) THEN
        RAISE EXCEPTION 'KEK % is the current KEK; rotate first', kek USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF EXISTS (SELECT FROM public.kek_acknowledgements a WHERE a.kek_id = kek AND a.acknowledged_at > pg_catalog.now() - interval '60 seconds') THEN
        RAISE EXCEPTION 'KEK % is still acknowledged by a running instance', kek USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF EXISTS (SELECT FROM public.subjects WHERE kek_id = kek) OR EXISTS (SELECT FROM public.vault_keys WHERE kek_id = kek)
       OR EXISTS (SELECT FROM public.dead_letters WHERE kek_id = kek) THEN
        RAISE EXCEPTION 'keys are still wrapped with KEK %', kek USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    INSERT INTO public.kek_retirements (kek_id, retired_at) VALUES (kek, pg_catalog.now()) ON CONFLICT (kek_id) DO NOTHING;
END $$;
REVOKE ALL ON FUNCTION callaudit_record_kek_retirement(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION callaudit_record_kek_retirement(text) TO callaudit_writer;

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
