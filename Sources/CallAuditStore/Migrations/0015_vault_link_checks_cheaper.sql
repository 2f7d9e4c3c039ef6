-- The link function does less per call (issue 21; BENCHMARKS.md "the vault's PostgreSQL CPU").
-- Same signature, same checks, same refusals and SQLSTATEs as migration 14's; only how they are
-- computed changes. Measured with callgrind on a single-user backend, 30 calls of 800 new persons
-- (1,520 links each): 3.89 G instructions before, 3.46 G after (162 k -> 144 k per new person).
--
-- - The kinds are checked by array containment, not by unnesting them.
-- - The two checks of customer and employee ids run only when the call carries one, over the
--   distinct (index, ref, kind) of those ids: two hashed groupings, not a count(DISTINCT) (a sort)
--   per group of every link.
-- - An identifier given twice in the call (a phone or e-mail of two of its persons, which becomes
--   shared) is found by one hashed grouping of the indexes, not by a window over every link
--   sorted by index.
-- - Bitmap scans are off with sequential scans: every probe is one index scan (a bitmap per probe
--   builds a TID bitmap for the one row it finds).
--
-- Everything migration 14 guarantees holds: SECURITY DEFINER with search_path pinned first, READ
-- COMMITTED only, the strong-id advisory lock, malformed arguments refused with 22023 before
-- anything is written, a person erased meanwhile or a racing writer's link a 40001.
CREATE OR REPLACE FUNCTION callaudit_link_subjects(
    refs text[], wrapped bytea[], kek text, indexes bytea[], index_refs text[], kinds text[]
) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET enable_seqscan = off SET enable_bitmapscan = off AS $$
DECLARE
    known text[];
    alive bigint;
    repeated bytea[];
    sharing bytea[];
    refused boolean;
    newly_shared bigint;
    strong boolean := 'customer_id' = ANY (kinds) OR 'employee_id' = ANY (kinds);
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
    IF NOT (kinds <@ '{phone,email,customer_id,employee_id}'::text[]) THEN
        RAISE EXCEPTION 'an identifier of no known kind' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF strong AND EXISTS (
        WITH s AS MATERIALIZED (
            SELECT DISTINCT b, r, k FROM unnest(indexes, index_refs, kinds) AS x(b, r, k) WHERE k IN ('customer_id', 'employee_id')
        )
        SELECT FROM (SELECT DISTINCT b, r FROM s) d GROUP BY b HAVING count(*) > 1
        UNION ALL
        SELECT FROM s GROUP BY r, k HAVING count(*) > 1
    ) THEN
        RAISE EXCEPTION 'a customer or employee id for two persons, or two of a kind for one' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF strong THEN
        PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('callaudit.strong_links', 0));
    END IF;
    INSERT INTO public.subjects (subject_ref, kek_id, wrapped_key) SELECT r, kek, w FROM unnest(refs, wrapped) AS x(r, w);

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
    SELECT coalesce(array_agg(b), '{}') INTO repeated FROM (SELECT b FROM unnest(indexes) AS b GROUP BY b HAVING count(*) > 1) r;

    BEGIN
        WITH probed AS (
            SELECT x.b, x.r, x.k, h.already, h.elsewhere,
                   x.k IN ('customer_id', 'employee_id') AND x.r = ANY (known) AND EXISTS (
                       SELECT FROM public.subject_index i WHERE i.subject_ref = x.r AND i.kind = x.k AND i.blind_index <> x.b) AS other_of_kind
            FROM unnest(indexes, index_refs, kinds) AS x(b, r, k) CROSS JOIN LATERAL (
                SELECT coalesce(bool_or(i.subject_ref = x.r), false) AS already,
                       coalesce(bool_or(i.subject_ref <> x.r AND s.wrapped_key IS NOT NULL), false) AS elsewhere
                FROM public.subject_index i LEFT JOIN public.subjects s ON s.subject_ref = i.subject_ref
                WHERE i.blind_index = x.b
            ) h
        ),
        linked AS (
            INSERT INTO public.subject_index (blind_index, subject_ref, kind) SELECT b, r, k FROM probed WHERE NOT already RETURNING 1
        )
        SELECT coalesce(array_agg(DISTINCT b) FILTER (WHERE k IN ('phone', 'email') AND (elsewhere OR b = ANY (repeated))), '{}'),
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
