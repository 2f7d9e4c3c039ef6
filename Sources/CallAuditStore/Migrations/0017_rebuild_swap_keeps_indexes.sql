-- The swap gives every copy the live table's indexes itself, and refuses a
-- copy whose indexes are not the live table's. Since migration 16 a copy can
-- be made without indexes; swapped in before callaudit_rebuild_index ran (by
-- whoever holds the service's credential, skipping what `ShadowTables` does),
-- it left live projection tables with no primary key and no unique index, for
-- good: a later rebuild copies what the live table has. Upserts then fail
-- (42P10) and the projections stop.

-- A table's indexes as what they do, not what they are called: UNIQUE or not,
-- and the definition from USING on. Copies made by callaudit_rebuild_prepare(text[])
-- (LIKE … INCLUDING ALL) name their indexes differently from the live ones.
CREATE FUNCTION callaudit_index_shapes(target regclass) RETURNS text[]
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT coalesce(array_agg(shape ORDER BY shape), '{}')
    FROM (
        SELECT CASE WHEN x.indisunique THEN 'UNIQUE ' ELSE '' END
               || substr(pg_get_indexdef(x.indexrelid), strpos(pg_get_indexdef(x.indexrelid), ' USING ') + 1) AS shape
        FROM pg_index x WHERE x.indrelid = target
    ) shapes
$$;
REVOKE ALL ON FUNCTION callaudit_index_shapes(regclass) FROM PUBLIC;

CREATE OR REPLACE FUNCTION callaudit_rebuild_swap(tables text[], scratch text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY tables || scratch LOOP
        IF NOT EXISTS (SELECT FROM public.rebuildable_tables r WHERE r.table_name = t) THEN
            RAISE EXCEPTION 'table % is not a projection table', t USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
    IF 'finding_changes' = ANY (tables) THEN
        RAISE EXCEPTION 'finding_changes is an audit record: it is never swapped' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Copies made without indexes get them now; copies that have them are left as they are.
    PERFORM public.callaudit_rebuild_index(tables);
    FOREACH t IN ARRAY tables LOOP
        IF public.callaudit_index_shapes(format('callaudit_rebuild.%I', t)::regclass)
           IS DISTINCT FROM public.callaudit_index_shapes(format('public.%I', t)::regclass) THEN
            RAISE EXCEPTION 'the copy of % does not have the live table''s indexes', t USING ERRCODE = 'insufficient_privilege';
        END IF;
        EXECUTE format('DROP TABLE public.%I', t);
        EXECUTE format('ALTER TABLE callaudit_rebuild.%I SET SCHEMA public', t);
    END LOOP;
    FOREACH t IN ARRAY scratch LOOP
        EXECUTE format('DROP TABLE callaudit_rebuild.%I', t);
    END LOOP;
END
$$;
