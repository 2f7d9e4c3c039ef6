-- The vault writes less per identifier, and only through its two functions
-- (issue 21, item 2; BENCHMARKS.md "Issue 21, item 2: the vault's rows, redesigned").
--
-- Measured before: per identifier linked, a `subject_index` row, a foreign-key
-- check that locked the person's row once more (`FOR KEY SHARE`: a heap write
-- and a WAL record each), and a speculative insertion (`ON CONFLICT`); every
-- person linked to, new ones included, was locked again; and whether a phone
-- had become shared was a GROUP BY the planner could turn into a scan of the
-- whole table on every batch.
--
-- What this keeps, unlike the per-person list tried before (and rejected):
-- `subject_index` keeps an index by person, so an erasure deletes every link a
-- person has, whoever wrote it; no row grows with what one person holds; and
-- the service roles no longer write links, persons or the epoch's counters
-- directly (4.).
--
-- 1. No foreign key from `subject_index` to `subjects`. What it guaranteed
--    (a link names a person who exists) `callaudit_link_subjects` guarantees
--    for every link it writes: it creates the persons it links in the same
--    call, and locks every other person it links and requires them alive.
--    It is the only writer of links (4.), and a link whose person does not
--    exist (written by a superuser) names nobody: the lookup joins `subjects`
--    and the link function counts live holders only, so it can never refuse
--    a link for ever.
-- 2. The by-person index becomes `(subject_ref, kind)`: the same entries, and
--    whether a person already holds a customer or employee id of a kind is one
--    probe, whatever else they hold. Erasure deletes by its prefix.
-- 3. `callaudit_link_subjects` (same signature; a `serve` started before this
--    migration calls the new body): one probe per identifier by its blind
--    index, no speculative insertion, no lock on the persons it creates.
-- 4. The service roles lose INSERT, UPDATE and DELETE on `subject_index` and
--    `shared_identifiers`, and INSERT and UPDATE on `subjects` except the
--    re-wrap of a key (a KEK rotation, `rewrapAll`): links are written only by
--    `callaudit_link_subjects`, erasures only by `callaudit_erase_subjects`,
--    both SECURITY DEFINER with a pinned search_path (CVE-2018-1058). On
--    `vault_epoch` they keep only marking the current KEK. Still theirs, and
--    not closed here: `dead_letter_subjects` and `subject_exports`, which
--    erasure reads (docs/security.md).

ALTER TABLE subject_index DROP CONSTRAINT subject_index_subject_ref_fkey;

CREATE INDEX subject_index_person ON subject_index (subject_ref, kind);
DROP INDEX subject_index_subject;

-- New persons and the links of their identifiers, in one round trip and
-- atomically. Fails the call as a serialization failure (the writer rolls
-- back, forgets what it cached and resolves the batch again from the
-- database, which then shows what made it fail) when:
-- - a person linked to was erased since the writer looked them up (an
--   erasure waits for this call's transaction, then deletes what it linked);
-- - a customer or employee id is already held by another live person, or the
--   person already holds another one of that kind;
-- - another writer is linking the same identifier to the same person right now.
-- A link that already exists is skipped. A phone or e-mail linked to a second
-- live person (or to two persons of this call) becomes shared.
--
-- Calls that link a customer or employee id take one transaction-scoped lock
-- first, so two writers (a replay beside ingest, two versions during a deploy)
-- cannot both give one strong id to two persons, or one person two of a kind:
-- the second waits, then its checks see the first's links. One lock, not one
-- per identifier: a batch can carry thousands, and the lock table is shared.
-- READ COMMITTED only: each statement below must see what committed before it
-- (under REPEATABLE READ a check would judge from the transaction's first
-- snapshot, and a role's default isolation is the service role's to set).
-- Arguments no writer of ours sends (arrays of different lengths, a NULL, a
-- strong id for two persons of the call) are refused as invalid.
--
-- Every statement reaches `subject_index` and `subjects` by key (seqscan off:
-- a table without statistics yet must not turn a probe into a scan).
CREATE OR REPLACE FUNCTION callaudit_link_subjects(
    refs text[], wrapped bytea[], kek text, indexes bytea[], index_refs text[], kinds text[]
) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET enable_seqscan = off AS $$
DECLARE
    known text[];
    alive bigint;
    sharing bytea[];
    refused boolean;
    newly_shared bigint;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'the vault links under READ COMMITTED only' USING ERRCODE = 'invalid_transaction_state';
    END IF;
    IF cardinality(coalesce(refs, '{}')) <> cardinality(coalesce(wrapped, '{}'))
        OR cardinality(coalesce(indexes, '{}')) <> cardinality(coalesce(index_refs, '{}'))
        OR cardinality(coalesce(indexes, '{}')) <> cardinality(coalesce(kinds, '{}'))
        OR (cardinality(coalesce(refs, '{}')) > 0 AND kek IS NULL)
        OR array_position(refs, NULL) IS NOT NULL OR array_position(wrapped, NULL) IS NOT NULL
        OR array_position(indexes, NULL) IS NOT NULL OR array_position(index_refs, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'the link arrays differ in length or hold a NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT FROM unnest(kinds) AS k WHERE k IS NULL OR k <> ALL ('{phone,email,customer_id,employee_id}'::text[])) THEN
        RAISE EXCEPTION 'an identifier of no known kind' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (
        SELECT FROM unnest(indexes, index_refs, kinds) AS x(b, r, k) WHERE k IN ('customer_id', 'employee_id')
        GROUP BY b HAVING count(DISTINCT r) > 1
    ) OR EXISTS (
        SELECT FROM unnest(indexes, index_refs, kinds) AS x(b, r, k) WHERE k IN ('customer_id', 'employee_id')
        GROUP BY r, k HAVING count(DISTINCT b) > 1
    ) THEN
        RAISE EXCEPTION 'a customer or employee id for two persons, or two of a kind for one' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF 'customer_id' = ANY (kinds) OR 'employee_id' = ANY (kinds) THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('callaudit.strong_links', 0));
    END IF;
    INSERT INTO public.subjects (subject_ref, kek_id, wrapped_key) SELECT r, kek, w FROM unnest(refs, wrapped) AS x(r, w);

    -- The persons linked to who existed before this call: locked, and alive.
    -- (A hashed EXCEPT: `<> ALL (refs)` compared every link with every new person, 25 ms a batch of 800.)
    SELECT coalesce(array_agg(k.r ORDER BY k.r), '{}') INTO known
    FROM (SELECT unnest(index_refs) EXCEPT SELECT unnest(refs)) AS k(r);
    IF cardinality(known) > 0 THEN
        SELECT count(*) INTO alive FROM (
            SELECT 1 FROM public.subjects WHERE subject_ref = ANY (known) AND erased_at IS NULL ORDER BY subject_ref FOR SHARE
        ) locked;
        IF alive < cardinality(known) THEN
            RAISE EXCEPTION 'a person was erased while identifiers were being linked to them; resolving again'
                USING ERRCODE = 'serialization_failure';
        END IF;
    END IF;

    -- One probe per identifier by its blind index: who holds it already. The links not held yet
    -- are inserted in the same statement; a refusal below rolls them back with the call.
    BEGIN
        WITH wanted AS (
            SELECT x.b, x.r, x.k, count(*) OVER (PARTITION BY x.b) > 1 AS twice FROM unnest(indexes, index_refs, kinds) AS x(b, r, k)
        ),
        probed AS (
            SELECT w.*, h.already, h.elsewhere,
                   w.k IN ('customer_id', 'employee_id') AND w.r = ANY (known) AND EXISTS (
                       SELECT FROM public.subject_index i WHERE i.subject_ref = w.r AND i.kind = w.k AND i.blind_index <> w.b) AS other_of_kind
            FROM wanted w CROSS JOIN LATERAL (
                SELECT coalesce(bool_or(i.subject_ref = w.r), false) AS already,
                       coalesce(bool_or(i.subject_ref <> w.r AND s.wrapped_key IS NOT NULL), false) AS elsewhere
                FROM public.subject_index i LEFT JOIN public.subjects s ON s.subject_ref = i.subject_ref
                WHERE i.blind_index = w.b
            ) h
        ),
        linked AS (
            INSERT INTO public.subject_index (blind_index, subject_ref, kind) SELECT b, r, k FROM probed WHERE NOT already RETURNING 1
        )
        SELECT coalesce(array_agg(DISTINCT b) FILTER (WHERE k IN ('phone', 'email') AND (elsewhere OR twice)), '{}'),
               coalesce(bool_or(k IN ('customer_id', 'employee_id') AND (elsewhere OR other_of_kind)), false)
        INTO sharing, refused
        FROM probed;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'an identifier was linked to the same person concurrently; resolving again' USING ERRCODE = 'serialization_failure';
    END;
    IF refused THEN
        RAISE EXCEPTION 'a customer or employee id was linked concurrently; resolving again' USING ERRCODE = 'serialization_failure';
    END IF;

    IF cardinality(sharing) > 0 THEN
        INSERT INTO public.shared_identifiers (blind_index) SELECT unnest(sharing) ON CONFLICT (blind_index) DO NOTHING;
        GET DIAGNOSTICS newly_shared = ROW_COUNT;
        IF newly_shared > 0 THEN
            UPDATE public.vault_epoch SET relinks = relinks + 1;
        END IF;
    END IF;
END
$$;

-- Erasure's writes to the vault: each person locked (a link to them in
-- flight either committed before, and is deleted here, or fails and resolves
-- again), every link to them deleted by person, whoever wrote it, a shared
-- identifier no live person holds any more forgotten, the data keys
-- destroyed, and the epoch bumped so every writer drops its cache. Returns
-- how many persons were erased and the blind indexes unlinked (the dead
-- letters that name them are shredded by the caller, in the same transaction).
CREATE FUNCTION callaudit_erase_subjects(refs text[], OUT erased bigint, OUT unlinked bytea[])
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- Under REPEATABLE READ the DELETE below would miss a link committed while it waited for the lock.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'the vault erases under READ COMMITTED only' USING ERRCODE = 'invalid_transaction_state';
    END IF;
    PERFORM FROM public.subjects WHERE subject_ref = ANY (refs) ORDER BY subject_ref FOR UPDATE;
    WITH gone AS (DELETE FROM public.subject_index WHERE subject_ref = ANY (refs) RETURNING blind_index)
    SELECT coalesce(array_agg(blind_index), '{}') INTO unlinked FROM gone;
    DELETE FROM public.shared_identifiers h WHERE h.blind_index = ANY (unlinked) AND NOT EXISTS (
        SELECT FROM public.subject_index i JOIN public.subjects s ON s.subject_ref = i.subject_ref
        WHERE i.blind_index = h.blind_index AND s.erased_at IS NULL);
    UPDATE public.subjects SET wrapped_key = NULL, kek_id = NULL, erased_at = now() WHERE subject_ref = ANY (refs) AND erased_at IS NULL;
    GET DIAGNOSTICS erased = ROW_COUNT;
    UPDATE public.vault_epoch SET erasures = erasures + 1;
END
$$;
REVOKE ALL ON FUNCTION callaudit_erase_subjects(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION callaudit_erase_subjects(text[]) TO callaudit_writer;

REVOKE INSERT, UPDATE, DELETE ON subject_index FROM callaudit_writer;
REVOKE INSERT, DELETE ON shared_identifiers FROM callaudit_writer;
REVOKE INSERT, UPDATE ON subjects FROM callaudit_writer;
-- A KEK rotation re-wraps data keys in place (`rewrapAll`); the CHECK keeps it from erasing one.
GRANT UPDATE (kek_id, wrapped_key) ON subjects TO callaudit_writer;
-- The epoch's counters move only in the functions above; the service marks the current KEK
-- (`KEKAcknowledgements`). One row, always: two would let a writer pick which one lookups read.
REVOKE INSERT, UPDATE, DELETE ON vault_epoch FROM callaudit_writer;
GRANT UPDATE (kek_current) ON vault_epoch TO callaudit_writer;
CREATE UNIQUE INDEX vault_epoch_one_row ON vault_epoch ((true));
