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

-- Projection tables go back to the owner; the service keeps what it uses.
ALTER TABLE projection_daily_volume OWNER TO CURRENT_USER;
ALTER TABLE compliance_calls OWNER TO CURRENT_USER;
ALTER TABLE compliance_recordings OWNER TO CURRENT_USER;
ALTER TABLE compliance_holds OWNER TO CURRENT_USER;
ALTER TABLE compliance_requests OWNER TO CURRENT_USER;
ALTER TABLE compliance_subject_calls OWNER TO CURRENT_USER;
ALTER TABLE compliance_deadlines OWNER TO CURRENT_USER;
ALTER TABLE findings OWNER TO CURRENT_USER;
ALTER TABLE activity_calls OWNER TO CURRENT_USER;
ALTER TABLE activity_recordings OWNER TO CURRENT_USER;
ALTER TABLE activity_accesses OWNER TO CURRENT_USER;
ALTER TABLE activity_holds OWNER TO CURRENT_USER;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON
    projection_daily_volume, compliance_calls, compliance_recordings, compliance_holds, compliance_requests,
    compliance_subject_calls, compliance_deadlines, findings, activity_calls, activity_recordings, activity_accesses, activity_holds
    TO callaudit_writer;
GRANT SELECT ON
    projection_daily_volume, compliance_calls, compliance_recordings, compliance_holds, compliance_requests,
    compliance_subject_calls, compliance_deadlines, findings, activity_calls, activity_recordings, activity_accesses, activity_holds
    TO callaudit_reader;

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
-- with the live tables' grants: the service fills them, and cannot attach
-- anything (a trigger, a rule) to a table it does not own.
CREATE FUNCTION callaudit_rebuild_prepare(tables text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text;
    g record;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        IF NOT EXISTS (SELECT FROM public.rebuildable_tables r WHERE r.table_name = t) THEN
            RAISE EXCEPTION 'table % is not a projection table', t USING ERRCODE = 'insufficient_privilege';
        END IF;
        EXECUTE format('DROP TABLE IF EXISTS callaudit_rebuild.%I', t);
        EXECUTE format('CREATE TABLE callaudit_rebuild.%I (LIKE public.%I INCLUDING ALL)', t, t);
        FOR g IN
            SELECT a.privilege_type AS privilege, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee
            FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
            WHERE c.oid = format('public.%I', t)::regclass AND a.grantee <> c.relowner
        LOOP
            EXECUTE format('GRANT %s ON callaudit_rebuild.%I TO %s', g.privilege, t, g.grantee);
        END LOOP;
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

-- 2. Kafka timestamps as they were -------------------------------------------

ALTER TABLE dead_letters
    ADD COLUMN kafka_timestamp_raw  bigint,
    ADD COLUMN kafka_timestamp_type text CHECK (kafka_timestamp_type IN ('create_time', 'log_append_time'));
COMMENT ON COLUMN dead_letters.kafka_timestamp IS 'kafka_timestamp_raw read as milliseconds since the epoch, when that is a time PostgreSQL can hold';
COMMENT ON COLUMN dead_letters.kafka_timestamp_raw IS 'the message timestamp exactly as Kafka gave it: any 64-bit value a producer set';

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

-- A request belongs to the source that opened it first; the compliance facts now say which.
UPDATE projection_checkpoints SET rebuild_requested = true WHERE projection = 'compliance';

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
