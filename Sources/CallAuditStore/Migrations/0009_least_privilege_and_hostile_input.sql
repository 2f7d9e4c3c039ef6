-- Hold against an adversary: a producer, or whoever holds the service's credential.
--
-- 1. Least privilege (the CVE-2018-1058 class). The service's group role
--    could create objects in public, which is on every session's search_path:
--    a function it planted there (public.pg_advisory_lock(integer), an exact
--    match for hashtext's int4) ran as the owner at the next migrate. Now the
--    service creates nothing anywhere: public and callaudit_rebuild belong to
--    the owner, projection tables too, and rebuilds go through two functions
--    that only make and swap copies of known projection tables. Functions
--    defined here carry their own search_path. `callaudit migrate` and
--    `serve` refuse to run while objects of other roles sit in either schema.
-- 2. Dead letters keep a Kafka timestamp as the number it was (any int64),
--    not only as a timestamptz, which refused 1.7e18 and stopped ingest.
-- 3. People stay apart: a phone or e-mail seen with two persons that a
--    customer or employee id tells apart is shared, and names neither.
--    A subject request belongs to the source that opened it (the compliance
--    projection is rebuilt to record it).
-- 4. An erasure and a link to the person it erases cannot both commit.

-- 1. Least privilege ----------------------------------------------------------

REVOKE CREATE ON SCHEMA public FROM PUBLIC, callaudit_writer, callaudit_reader;

-- Projection tables go back to the owner, made afresh: while the service's
-- group role owned them it could grant them to anyone (TRIGGER included),
-- add columns with defaults or constraints that run as whoever writes the
-- table, or attach triggers and rules. A change of owner keeps all of that,
-- so they are dropped and created again from their definitions, and every
-- projection starts over from the log (they are disposable). The compliance
-- history (finding_changes) is an audit record and is kept: the rebuild only
-- appends what differs from it.
DROP TABLE projection_daily_volume, compliance_calls, compliance_recordings, compliance_holds, compliance_requests,
    compliance_subject_calls, compliance_deadlines, findings, activity_calls, activity_recordings, activity_accesses, activity_holds;

CREATE TABLE projection_daily_volume (
    day     date NOT NULL,
    type    text COLLATE "C" NOT NULL,
    events  bigint NOT NULL,
    PRIMARY KEY (day, type)
);

CREATE TABLE compliance_calls (
    call_id  text COLLATE "C" PRIMARY KEY,
    facts    json NOT NULL
);
CREATE TABLE compliance_recordings (
    recording_id  text COLLATE "C" PRIMARY KEY,
    call_id       text COLLATE "C",
    facts         json NOT NULL
);
CREATE INDEX compliance_recordings_call ON compliance_recordings (call_id);
CREATE TABLE compliance_holds (
    hold_id  text COLLATE "C" PRIMARY KEY,
    facts    json NOT NULL
);
CREATE TABLE compliance_requests (
    request_id    text COLLATE "C" PRIMARY KEY,
    subject_keys  text[] NOT NULL,
    facts         json NOT NULL
);
COMMENT ON COLUMN compliance_requests.subject_keys IS 'subject refs (pseudonyms) of the persons the request names; never identifiers';
CREATE TABLE compliance_subject_calls (
    subject_key  text COLLATE "C" NOT NULL,
    call_id      text COLLATE "C" NOT NULL,
    party_id     text,
    PRIMARY KEY (subject_key, call_id)
);
COMMENT ON TABLE compliance_subject_calls IS 'which person (subject_ref) took part in which call, as which party';
CREATE TABLE compliance_deadlines (
    subject           text COLLATE "C" PRIMARY KEY,
    due_at            timestamptz NOT NULL,
    judged_after_due  boolean NOT NULL DEFAULT false
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
    fingerprint     text NOT NULL
);
CREATE INDEX findings_occurred ON findings (occurred_at, rule);
CREATE INDEX findings_subject ON findings (subject);

CREATE TABLE activity_calls (
    call_id            text COLLATE "C" PRIMARY KEY,
    started_at         timestamptz,
    first_recorded_at  timestamptz,
    regime             text,
    direction          text,
    channel            text,
    source             text,
    started_position   bigint
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
CREATE INDEX activity_recordings_deleted ON activity_recordings (deleted_at);
CREATE INDEX activity_recordings_stored ON activity_recordings (stored_at);
CREATE TABLE activity_accesses (
    position                bigint PRIMARY KEY,
    event_id                text NOT NULL,
    recording_id            text COLLATE "C" NOT NULL,
    occurred_at             timestamptz NOT NULL,
    kind                    text NOT NULL CHECK (kind IN ('accessed', 'shared')),
    actor_id                text NOT NULL,
    actor_role              text NOT NULL,
    action                  text,
    purpose                 text,
    anonymized              boolean NOT NULL DEFAULT false,
    recipient_country       text,
    legal_basis             text,
    recipient_organization  text
);
CREATE INDEX activity_accesses_recording ON activity_accesses (recording_id);
CREATE INDEX activity_accesses_time ON activity_accesses (occurred_at);
CREATE TABLE activity_holds (
    hold_id        text COLLATE "C" PRIMARY KEY,
    placed_at      timestamptz,
    released_at    timestamptz,
    recording_ids  text[] NOT NULL DEFAULT '{}'
);

REVOKE ALL ON
    projection_daily_volume, compliance_calls, compliance_recordings, compliance_holds, compliance_requests,
    compliance_subject_calls, compliance_deadlines, findings, activity_calls, activity_recordings, activity_accesses, activity_holds
    FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON
    projection_daily_volume, compliance_calls, compliance_recordings, compliance_holds, compliance_requests,
    compliance_subject_calls, compliance_deadlines, findings, activity_calls, activity_recordings, activity_accesses, activity_holds
    TO callaudit_writer;
GRANT SELECT ON
    projection_daily_volume, compliance_calls, compliance_recordings, compliance_holds, compliance_requests,
    compliance_subject_calls, compliance_deadlines, findings, activity_calls, activity_recordings, activity_accesses, activity_holds
    TO callaudit_reader;

-- Every projection starts over from the log (and its leader rebuilds it at once).
UPDATE projection_checkpoints SET last_transaction_id = '0', last_position = 0, events_applied = 0, rebuild_requested = true, updated_at = now();

-- finding_changes is an audit record: nobody truncates it.
REVOKE TRUNCATE ON finding_changes FROM callaudit_writer;

-- The rebuild schema is the owner's too; it holds copies only inside a rebuild's transaction.
ALTER SCHEMA callaudit_rebuild OWNER TO CURRENT_USER;
REVOKE ALL ON SCHEMA callaudit_rebuild FROM PUBLIC, callaudit_writer;
GRANT USAGE ON SCHEMA callaudit_rebuild TO callaudit_writer;
DO $$
DECLARE
    leftover text;
BEGIN
    FOR leftover IN SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'callaudit_rebuild' AND c.relkind = 'r' LOOP
        EXECUTE pg_catalog.format('DROP TABLE callaudit_rebuild.%I', leftover);
    END LOOP;
END
$$;

-- What a rebuild may copy and swap: the projections' tables, nothing else.
CREATE TABLE rebuildable_tables (table_name text PRIMARY KEY);
INSERT INTO rebuildable_tables VALUES
    ('projection_daily_volume'), ('compliance_calls'), ('compliance_recordings'), ('compliance_holds'),
    ('compliance_requests'), ('compliance_subject_calls'), ('compliance_deadlines'), ('findings'),
    ('finding_changes'), ('activity_calls'), ('activity_recordings'), ('activity_accesses'), ('activity_holds');
REVOKE ALL ON rebuildable_tables FROM PUBLIC;
GRANT SELECT ON rebuildable_tables TO callaudit_writer;
COMMENT ON TABLE rebuildable_tables IS 'Tables callaudit_rebuild_prepare may copy into callaudit_rebuild (finding_changes only as a scratch copy: it is never swapped).';

-- Empty copies of projection tables in callaudit_rebuild, owned by the owner,
-- with the projection tables' fixed grants: the service fills them, and cannot
-- attach anything (a trigger, a rule) to a table it does not own.
CREATE FUNCTION callaudit_rebuild_prepare(tables text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        IF NOT EXISTS (SELECT FROM public.rebuildable_tables r WHERE r.table_name = t) THEN
            RAISE EXCEPTION 'table % is not a projection table', t USING ERRCODE = 'insufficient_privilege';
        END IF;
        EXECUTE format('DROP TABLE IF EXISTS callaudit_rebuild.%I', t);
        EXECUTE format('CREATE TABLE callaudit_rebuild.%I (LIKE public.%I INCLUDING ALL)', t, t);
        -- What the live tables grant, and nothing copied from them: a fixed set.
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON callaudit_rebuild.%I TO callaudit_writer', t);
        EXECUTE format('GRANT SELECT ON callaudit_rebuild.%I TO callaudit_reader', t);
    END LOOP;
END
$$;

-- Swaps the filled copies in for the live tables, and drops the scratch
-- copies. The caller holds ACCESS EXCLUSIVE on the live tables already.
CREATE FUNCTION callaudit_rebuild_swap(tables text[], scratch text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY tables || scratch LOOP
        IF NOT EXISTS (SELECT FROM public.rebuildable_tables r WHERE r.table_name = t) THEN
            RAISE EXCEPTION 'table % is not a projection table', t USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
    FOREACH t IN ARRAY tables LOOP
        IF t = 'finding_changes' THEN
            RAISE EXCEPTION 'finding_changes is an audit record: it is never swapped' USING ERRCODE = 'insufficient_privilege';
        END IF;
        EXECUTE format('DROP TABLE public.%I', t);
        EXECUTE format('ALTER TABLE callaudit_rebuild.%I SET SCHEMA public', t);
    END LOOP;
    FOREACH t IN ARRAY scratch LOOP
        EXECUTE format('DROP TABLE callaudit_rebuild.%I', t);
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION callaudit_rebuild_prepare(text[]), callaudit_rebuild_swap(text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION callaudit_rebuild_prepare(text[]), callaudit_rebuild_swap(text[], text[]) TO callaudit_writer;

ALTER FUNCTION callaudit_reject_change() SET search_path = pg_catalog, pg_temp;

-- Who holds the projections' horizon back, without what they are running:
-- the service no longer reads every session's statements (pg_read_all_stats
-- showed it a DBA's ALTER ROLE … PASSWORD), only this.
CREATE FUNCTION callaudit_horizon_holder()
RETURNS TABLE (pid integer, application text, state text, database text, age_seconds bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT o.pid, o.application, o.state, o.database, o.age_seconds FROM (
        SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''), coalesce(a.datname, ''::name)::text,
               extract(epoch FROM now() - a.xact_start)::bigint, age(a.backend_xid)
        FROM pg_stat_activity a WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_backend_pid()
        UNION ALL
        SELECT NULL, '', 'prepared ' || p.gid, p.database::text, extract(epoch FROM now() - p.prepared)::bigint, age(p.transaction)
        FROM pg_prepared_xacts p
    ) o (pid, application, state, database, age_seconds, xid_age) ORDER BY o.xid_age DESC LIMIT 1
$$;
REVOKE ALL ON FUNCTION callaudit_horizon_holder() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION callaudit_horizon_holder() TO callaudit_writer, callaudit_reader;
DO $$
BEGIN
    REVOKE pg_read_all_stats FROM callaudit_writer, callaudit_reader;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_read_all_stats could not be revoked from callaudit_writer and callaudit_reader: revoke it as a superuser';
END
$$;

-- 2. Kafka timestamps as they were -------------------------------------------

ALTER TABLE dead_letters
    ADD COLUMN kafka_timestamp_raw  bigint,
    ADD COLUMN kafka_timestamp_type text CHECK (kafka_timestamp_type IN ('create_time', 'log_append_time'));
COMMENT ON COLUMN dead_letters.kafka_timestamp IS 'kafka_timestamp_raw read as milliseconds since the epoch, when that is a time PostgreSQL can hold';
COMMENT ON COLUMN dead_letters.kafka_timestamp_raw IS 'the message timestamp exactly as Kafka gave it: any 64-bit value a producer set';

-- What a dead letter says never changes. The service may settle one (status,
-- replayed_*, last_replay_error), re-wrap its key in a KEK rotation, and
-- shred it on an erasure (sealed payload and key to NULL, erased_at set);
-- nothing else, and nothing shredded comes back.
REVOKE UPDATE, DELETE, TRUNCATE ON dead_letters FROM callaudit_writer;
GRANT UPDATE (status, replayed_at, replayed_position, last_replay_error, sealed, wrapped_key, kek_id, erased_at)
    ON dead_letters TO callaudit_writer;

CREATE FUNCTION callaudit_guard_dead_letter() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF (OLD.kafka_topic, OLD.kafka_partition, OLD.kafka_offset, OLD.kafka_timestamp, OLD.kafka_timestamp_raw, OLD.kafka_timestamp_type,
        OLD.received_at, OLD.reason, OLD.detail, OLD.message_key, OLD.headers::text, OLD.message_value)
       IS DISTINCT FROM
       (NEW.kafka_topic, NEW.kafka_partition, NEW.kafka_offset, NEW.kafka_timestamp, NEW.kafka_timestamp_raw, NEW.kafka_timestamp_type,
        NEW.received_at, NEW.reason, NEW.detail, NEW.message_key, NEW.headers::text, NEW.message_value)
       OR (NEW.sealed IS DISTINCT FROM OLD.sealed AND NEW.sealed IS NOT NULL)
       OR (OLD.wrapped_key IS NULL AND NEW.wrapped_key IS NOT NULL)
       OR (OLD.erased_at IS NOT NULL AND NEW.erased_at IS DISTINCT FROM OLD.erased_at)
       OR (OLD.status = 'replayed' AND NEW.status <> 'replayed')
    THEN
        RAISE EXCEPTION 'dead letter %: what it says never changes; it can be settled, re-wrapped or shredded only', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER dead_letters_guard BEFORE UPDATE ON dead_letters FOR EACH ROW EXECUTE FUNCTION callaudit_guard_dead_letter();
CREATE TRIGGER dead_letters_no_delete BEFORE DELETE ON dead_letters FOR EACH ROW EXECUTE FUNCTION callaudit_reject_change();
CREATE TRIGGER dead_letters_no_truncate BEFORE TRUNCATE ON dead_letters FOR EACH STATEMENT EXECUTE FUNCTION callaudit_reject_change();

-- 3. Shared identifiers --------------------------------------------------------

-- An identifier may now be linked to several persons; it names one only while
-- it is not shared.
ALTER TABLE subject_index DROP CONSTRAINT subject_index_pkey, ADD PRIMARY KEY (blind_index, subject_ref);

CREATE TABLE shared_identifiers (
    blind_index  bytea PRIMARY KEY CHECK (length(blind_index) = 32),
    shared_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE shared_identifiers IS 'phones and e-mails seen with persons a customer or employee id tells apart: they name nobody';
REVOKE ALL ON shared_identifiers FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON shared_identifiers TO callaudit_writer;

-- Bumped whenever an identifier becomes shared: writers forget what they cached, as after an erasure.
ALTER TABLE vault_epoch ADD COLUMN relinks bigint NOT NULL DEFAULT 0;

-- 4. Erasure against linking ---------------------------------------------------

-- Links left to persons an erasure destroyed (an erasure that committed
-- between a writer's lookup and its link): they named nobody, and blocked
-- every later link of the same identifier.
DELETE FROM subject_index i USING subjects s WHERE s.subject_ref = i.subject_ref AND s.erased_at IS NOT NULL;

DROP FUNCTION callaudit_add_subjects(text[], bytea[], text, bytea[], text[], text[]);

-- New persons and the links of their identifiers, in one round trip and
-- atomically. Each person linked to is locked and must be alive: an erasure
-- that committed since the writer looked them up fails the call as a
-- serialization failure (and an erasure waits for this one to commit, then
-- deletes what it linked). So does a customer or employee id linked first by
-- another writer, or a person who already has another one of that kind.
-- A phone or e-mail linked to a second person becomes shared.
CREATE FUNCTION callaudit_link_subjects(
    refs text[], wrapped bytea[], kek text, indexes bytea[], index_refs text[], kinds text[]
) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    wanted bigint;
    alive bigint;
    newly_shared bigint;
BEGIN
    INSERT INTO subjects (subject_ref, kek_id, wrapped_key) SELECT r, kek, w FROM unnest(refs, wrapped) AS x(r, w);
    SELECT count(DISTINCT r) INTO wanted FROM unnest(index_refs) AS r;
    SELECT count(*) INTO alive FROM (
        SELECT 1 FROM subjects WHERE subject_ref = ANY(index_refs) AND erased_at IS NULL ORDER BY subject_ref FOR SHARE
    ) locked;
    IF alive < wanted THEN
        RAISE EXCEPTION 'a person was erased while identifiers were being linked to them; resolving again'
            USING ERRCODE = 'serialization_failure';
    END IF;
    IF EXISTS (
        SELECT FROM unnest(indexes, index_refs, kinds) AS x(b, r, k)
        WHERE k IN ('customer_id', 'employee_id') AND (
            EXISTS (SELECT FROM subject_index i WHERE i.blind_index = x.b AND i.subject_ref <> x.r)
            OR EXISTS (SELECT FROM subject_index i WHERE i.subject_ref = x.r AND i.kind = x.k AND i.blind_index <> x.b))
    ) THEN
        RAISE EXCEPTION 'a customer or employee id was linked concurrently; resolving again' USING ERRCODE = 'serialization_failure';
    END IF;
    INSERT INTO subject_index (blind_index, subject_ref, kind)
    SELECT b, r, k FROM unnest(indexes, index_refs, kinds) AS x(b, r, k)
    ON CONFLICT (blind_index, subject_ref) DO NOTHING;
    INSERT INTO shared_identifiers (blind_index)
    SELECT i.blind_index FROM subject_index i
    WHERE i.blind_index = ANY(indexes) AND i.kind IN ('phone', 'email')
    GROUP BY i.blind_index HAVING count(*) > 1
    ON CONFLICT (blind_index) DO NOTHING;
    GET DIAGNOSTICS newly_shared = ROW_COUNT;
    IF newly_shared > 0 THEN
        UPDATE vault_epoch SET relinks = relinks + 1;
    END IF;
END
$$;
REVOKE ALL ON FUNCTION callaudit_link_subjects(text[], bytea[], text, bytea[], text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION callaudit_link_subjects(text[], bytea[], text, bytea[], text[], text[]) TO callaudit_writer;
