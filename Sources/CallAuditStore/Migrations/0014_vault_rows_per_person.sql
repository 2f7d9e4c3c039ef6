-- The vault writes less per person (issue 21, item 2).
--
-- Measured before (BENCHMARKS.md, "Issue 21, item 2"): the vault's session
-- used as much PostgreSQL CPU per sealed event as the COPY of the events
-- itself. Per new person it wrote a `subjects` row, and per identifier a
-- `subject_index` row with two index entries, a foreign-key check that
-- locked the person's row again (a WAL record each), and a speculative
-- insertion; every person linked to, new ones included, was locked once more;
-- and whether an identifier had become shared was a GROUP BY the planner
-- could turn into a scan of the whole `subject_index` on every batch.
--
-- 1. A person's blind indexes are carried on their `subjects` row, written
--    with it: erasure and the linking rule read them there, so
--    `subject_index` keeps one index (its primary key, which finds a person
--    by identifier) instead of two.
-- 2. No foreign key: `callaudit_link_subjects`, the one writer of
--    `subject_index`, creates the persons it links in the same call and
--    locks every other person it links and requires them alive, which is
--    what the key guaranteed, without a check per identifier.

ALTER TABLE subjects ADD COLUMN blind_indexes bytea[] NOT NULL DEFAULT '{}';
COMMENT ON COLUMN subjects.blind_indexes IS 'the blind indexes linked to this person (as in subject_index); emptied when erased';

-- Links made so far (erased persons have none since migration 0009).
UPDATE subjects s SET blind_indexes = l.indexes
FROM (SELECT subject_ref, array_agg(blind_index ORDER BY blind_index) AS indexes FROM subject_index GROUP BY subject_ref) l
WHERE s.subject_ref = l.subject_ref AND s.erased_at IS NULL;
-- Links left to a person erased before 0009's clean-up could not exist; any that do name nobody.
DELETE FROM subject_index i USING subjects s WHERE s.subject_ref = i.subject_ref AND s.erased_at IS NOT NULL;

ALTER TABLE subject_index DROP CONSTRAINT subject_index_subject_ref_fkey;
DROP INDEX subject_index_subject;

-- New persons and the links of their identifiers, in one round trip and
-- atomically, as in 0009: a person linked to who was not created here is
-- locked and must be alive (an erasure that committed since the writer looked
-- them up fails the call as a serialization failure; an erasure waits for
-- this one to commit, then deletes what it linked). So does a customer or
-- employee id linked first by another writer, or a person who already has
-- another one of that kind, or a link another writer made meanwhile. A phone
-- or e-mail linked to a second person becomes shared.
--
-- No statement below reads `subject_index` more than once per call: each
-- either probes its primary key per identifier or, while the table is small
-- enough for the planner to prefer it, scans it once (never once per
-- identifier, which a forced per-identifier probe became when the table had no
-- statistics yet: measured, 310 ms per batch). Probes by a whole primary key
-- are always index scans.
CREATE OR REPLACE FUNCTION callaudit_link_subjects(
    refs text[], wrapped bytea[], kek text, indexes bytea[], index_refs text[], kinds text[]
) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    known text[];
    alive bigint;
    sharing bytea[];
    taken boolean;
    newly_shared bigint;
BEGIN
    INSERT INTO subjects (subject_ref, kek_id, wrapped_key, blind_indexes)
    SELECT x.r, kek, x.w, coalesce(l.added, '{}')
    FROM unnest(refs, wrapped) AS x(r, w)
    LEFT JOIN (SELECT y.r, array_agg(y.b) AS added FROM unnest(indexes, index_refs) AS y(b, r) GROUP BY y.r) l ON l.r = x.r;

    -- The persons linked to who existed before this call.
    SELECT coalesce(array_agg(k.r ORDER BY k.r), '{}') INTO known
    FROM (SELECT unnest(index_refs) EXCEPT SELECT unnest(refs)) AS k(r);
    IF cardinality(known) > 0 THEN
        SELECT count(*) INTO alive FROM (
            SELECT 1 FROM subjects WHERE subject_ref = ANY(known) AND erased_at IS NULL ORDER BY subject_ref FOR NO KEY UPDATE
        ) locked;
        IF alive < cardinality(known) THEN
            RAISE EXCEPTION 'a person was erased while identifiers were being linked to them; resolving again'
                USING ERRCODE = 'serialization_failure';
        END IF;
    END IF;

    -- One probe per identifier: is it linked to someone else already? A customer or employee id
    -- that is fails the call; a phone or e-mail that is (or that two persons of this call share)
    -- becomes shared.
    SELECT array_agg(DISTINCT h.b) FILTER (WHERE h.k IN ('phone', 'email')), coalesce(bool_or(h.k IN ('customer_id', 'employee_id')), false)
    INTO sharing, taken
    FROM (
        SELECT x.b, x.k FROM unnest(indexes, index_refs, kinds) AS x(b, r, k)
        WHERE EXISTS (SELECT FROM subject_index i WHERE i.blind_index = x.b AND i.subject_ref <> x.r)
        UNION ALL
        SELECT x.b, min(x.k) FROM unnest(indexes, index_refs, kinds) AS x(b, r, k)
        WHERE x.k IN ('phone', 'email') GROUP BY x.b HAVING count(DISTINCT x.r) > 1
    ) h;
    -- A person who existed may already hold a customer or employee id of this kind: their row
    -- lists their blind indexes, each probed for its kind (OFFSET 0 keeps each subquery a probe).
    IF taken OR (cardinality(known) > 0 AND EXISTS (
        SELECT FROM unnest(indexes, index_refs, kinds) AS x(b, r, k)
        CROSS JOIN LATERAL (SELECT s.blind_indexes FROM subjects s WHERE s.subject_ref = x.r OFFSET 0) s
        CROSS JOIN LATERAL unnest(s.blind_indexes) AS held(b)
        WHERE x.k IN ('customer_id', 'employee_id') AND x.r IN (SELECT unnest(known)) AND held.b <> x.b
          AND (SELECT i.kind FROM subject_index i WHERE i.blind_index = held.b AND i.subject_ref = x.r) = x.k)
    ) THEN
        RAISE EXCEPTION 'a customer or employee id was linked concurrently; resolving again' USING ERRCODE = 'serialization_failure';
    END IF;

    BEGIN
        INSERT INTO subject_index (blind_index, subject_ref, kind) SELECT b, r, k FROM unnest(indexes, index_refs, kinds) AS x(b, r, k);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'an identifier was linked to the same person concurrently; resolving again' USING ERRCODE = 'serialization_failure';
    END;
    IF cardinality(known) > 0 THEN
        UPDATE subjects s SET blind_indexes = s.blind_indexes || l.added
        FROM (SELECT y.r, array_agg(y.b) AS added FROM unnest(indexes, index_refs) AS y(b, r) WHERE y.r IN (SELECT unnest(known)) GROUP BY y.r) l
        WHERE s.subject_ref = l.r;
    END IF;

    INSERT INTO shared_identifiers (blind_index) SELECT DISTINCT unnest(sharing) ON CONFLICT (blind_index) DO NOTHING;
    GET DIAGNOSTICS newly_shared = ROW_COUNT;
    IF newly_shared > 0 THEN
        UPDATE vault_epoch SET relinks = relinks + 1;
    END IF;
END
$$;
