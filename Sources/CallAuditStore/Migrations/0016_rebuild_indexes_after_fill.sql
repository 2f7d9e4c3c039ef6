-- A rebuild's shadow tables may take their indexes after they are filled:
-- PostgreSQL then builds each index once, from sorted rows, instead of
-- inserting every row into every index as it arrives (findings has four).
-- What the tables hold afterwards is what they held before: the same rows,
-- constraints and indexes (named as the live tables name them).

-- Empty copies of projection tables in callaudit_rebuild, as
-- callaudit_rebuild_prepare(text[]) makes them, except that those also named
-- in `unindexed` get no indexes (nor the primary keys and unique constraints
-- they back) until callaudit_rebuild_index gives them theirs.
CREATE FUNCTION callaudit_rebuild_prepare(tables text[], unindexed text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        IF NOT EXISTS (SELECT FROM public.rebuildable_tables r WHERE r.table_name = t) THEN
            RAISE EXCEPTION 'table % is not a projection table', t USING ERRCODE = 'insufficient_privilege';
        END IF;
        EXECUTE format('DROP TABLE IF EXISTS callaudit_rebuild.%I', t);
        IF t = ANY (unindexed) THEN
            EXECUTE format('CREATE TABLE callaudit_rebuild.%I (LIKE public.%I INCLUDING ALL EXCLUDING INDEXES)', t, t);
        ELSE
            EXECUTE format('CREATE TABLE callaudit_rebuild.%I (LIKE public.%I INCLUDING ALL)', t, t);
        END IF;
        -- What the live tables grant, and nothing copied from them: a fixed set.
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON callaudit_rebuild.%I TO callaudit_writer', t);
        EXECUTE format('GRANT SELECT ON callaudit_rebuild.%I TO callaudit_reader', t);
    END LOOP;
END
$$;

-- Gives each named copy that has no index yet the live table's indexes, under
-- the live indexes' names: primary keys and unique constraints as
-- constraints, the rest as indexes. A copy with indexes is left as it is, so
-- running it again does nothing.
CREATE FUNCTION callaudit_rebuild_index(tables text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text;
    live record;
    head text;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        IF NOT EXISTS (SELECT FROM public.rebuildable_tables r WHERE r.table_name = t) THEN
            RAISE EXCEPTION 'table % is not a projection table', t USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
    FOREACH t IN ARRAY tables LOOP
        CONTINUE WHEN EXISTS (SELECT FROM pg_index x WHERE x.indrelid = format('callaudit_rebuild.%I', t)::regclass);
        FOR live IN
            SELECT i.relname AS name, x.indisunique AS is_unique, pg_get_indexdef(x.indexrelid) AS definition,
                   c.conname AS constraint_name, pg_get_constraintdef(c.oid) AS constraint_definition
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u')
            WHERE x.indrelid = format('public.%I', t)::regclass
            ORDER BY c.contype = 'p' DESC NULLS LAST, i.relname
        LOOP
            IF live.constraint_name IS NOT NULL THEN
                EXECUTE format('ALTER TABLE callaudit_rebuild.%I ADD CONSTRAINT %I %s', t, live.constraint_name, live.constraint_definition);
            ELSE
                -- pg_get_indexdef says "CREATE [UNIQUE] INDEX name ON public.t USING …": the same on the copy.
                head := format('CREATE %sINDEX %I ON public.%I USING ', CASE WHEN live.is_unique THEN 'UNIQUE ' ELSE '' END, live.name, t);
                IF left(live.definition, length(head)) <> head THEN
                    RAISE EXCEPTION 'index % of % is not one a rebuild can copy', live.name, t;
                END IF;
                EXECUTE format('CREATE %sINDEX %I ON callaudit_rebuild.%I USING %s',
                               CASE WHEN live.is_unique THEN 'UNIQUE ' ELSE '' END, live.name, t, substr(live.definition, length(head) + 1));
            END IF;
        END LOOP;
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION callaudit_rebuild_prepare(text[], text[]), callaudit_rebuild_index(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION callaudit_rebuild_prepare(text[], text[]), callaudit_rebuild_index(text[]) TO callaudit_writer;
