-- The log's clock: transaction ids that keep their order across a restore onto another cluster.
--
-- Readers take the log in (transaction_id, position) order, below the oldest
-- transaction still in flight; checkpoints, seals and quarantine entries
-- remember places in that order. transaction_id was the cluster's own
-- pg_current_xact_id(). A logical restore (pg_dump, pg_restore) carries the
-- old cluster's ids into a cluster whose ids start low, so every event
-- written after it sorted before every checkpoint and seal: no projection
-- read it, status said "0 behind", and verify-store called it an insertion
-- into seal 1.
--
-- Now the log's ids are the cluster's plus a shift kept here (0 until a
-- restore needs one). The column default adds it (a constant in the default,
-- rewritten with the shift: a function call per inserted row would cost
-- ingest several microseconds per event), and every read of the horizon goes
-- through callaudit_log_snapshot(), which shifts the cluster's snapshot the
-- same way. `callaudit migrate` calls callaudit_log_clock_rebase(): when the
-- log holds an id the cluster has not reached, it raises the shift so that
-- new ids continue above every id the log holds. The shift only grows, so a
-- horizon read before a rebase is still a true lower bound after it.

CREATE TABLE log_clock (
    singleton      boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    -- Added to the cluster's transaction ids; never lowered.
    shift          bigint      NOT NULL DEFAULT 0 CHECK (shift >= 0),
    rebased_at     timestamptz,
    -- The highest id the log held when it was last rebased.
    rebased_above  xid8
);
INSERT INTO log_clock DEFAULT VALUES;
COMMENT ON TABLE log_clock IS 'Shift added to this cluster''s transaction ids to give the log''s (events.transaction_id); raised by callaudit migrate after a restore onto another cluster.';

CREATE FUNCTION callaudit_log_clock_forward_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.shift < OLD.shift OR NOT NEW.singleton THEN
        RAISE EXCEPTION 'the log clock only moves forward (shift % to %)', OLD.shift, NEW.shift
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER log_clock_forward_only BEFORE UPDATE ON log_clock FOR EACH ROW EXECUTE FUNCTION callaudit_log_clock_forward_only();
CREATE TRIGGER log_clock_no_delete BEFORE DELETE ON log_clock FOR EACH ROW EXECUTE FUNCTION callaudit_reject_change();
CREATE TRIGGER log_clock_no_truncate BEFORE TRUNCATE ON log_clock FOR EACH STATEMENT EXECUTE FUNCTION callaudit_reject_change();

REVOKE ALL ON log_clock FROM PUBLIC;
GRANT SELECT ON log_clock TO callaudit_writer, callaudit_reader;

-- The current snapshot in the log's ids: the cluster's, every id shifted.
-- Its xmin is the readers' horizon; its xmax and in-progress list tell
-- verify-store which ids no committed transaction can have.
CREATE FUNCTION callaudit_log_snapshot() RETURNS pg_snapshot
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT ((pg_snapshot_xmin(s)::text::numeric + c.shift)::text || ':'
            || (pg_snapshot_xmax(s)::text::numeric + c.shift)::text || ':'
            || coalesce((SELECT string_agg((x::text::numeric + c.shift)::text, ',' ORDER BY x) FROM pg_snapshot_xip(s) x), ''))::pg_snapshot
    FROM pg_current_snapshot() s, public.log_clock c
$$;

-- The highest transaction id the log holds. Only events count: every other
-- place in the log's order (projection checkpoints, seals, quarantine
-- entries) names an event's id, and those tables are the service's to write,
-- so a stolen service credential could plant an id there to stop `serve`
-- (the clock "behind") or to push the shift past bigint at the next migrate.
-- Nobody but the owner sets events.transaction_id.
CREATE FUNCTION callaudit_log_top() RETURNS xid8
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT e.transaction_id FROM public.events e ORDER BY e.transaction_id DESC LIMIT 1
$$;

-- The id the log remembers that this cluster's clock has not reached yet
-- (at or past the next id it would give), or null when the clock is ahead of
-- everything: after a restore onto another cluster, until migrate rebases.
CREATE FUNCTION callaudit_log_clock_behind() RETURNS xid8
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT t.top FROM (SELECT public.callaudit_log_top() AS top) t
    WHERE t.top >= pg_snapshot_xmax(public.callaudit_log_snapshot())
$$;

-- Raises the shift so that every id given from now on is above every id the
-- log remembers; the new shift, or null when none was needed. The owner's
-- (migrate runs it): it rewrites the column default. Writers are shut out
-- while it decides, so no event commits with an id of the old shift after
-- the highest id was read.
CREATE FUNCTION callaudit_log_clock_rebase() RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    top xid8;
    oldest numeric;
    new_shift bigint;
BEGIN
    IF public.callaudit_log_clock_behind() IS NULL THEN
        RETURN NULL;
    END IF;
    LOCK TABLE public.events, public.projection_checkpoints, public.seals, public.projection_quarantine, public.log_clock IN EXCLUSIVE MODE;
    top := public.callaudit_log_clock_behind();
    IF top IS NULL THEN
        RETURN NULL;
    END IF;
    -- Every transaction that may still write has an id at or above the
    -- snapshot's xmin, or will be given one: shifted past `top`, all are.
    oldest := pg_snapshot_xmin(pg_current_snapshot())::text::numeric;
    -- Ids past 2^62 are no restore's: a cluster would need centuries to
    -- give them. Refuse, naming the id, rather than shift the default into
    -- bigint's overflow (every insert would then fail).
    IF top::text::numeric >= 4611686018427387904 THEN
        RAISE EXCEPTION 'the log holds an event with transaction id %, past any a cluster gives; the clock was not moved', top
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'find the event by that transaction_id in events: it was written by someone who could set the column (the owner)';
    END IF;
    new_shift := (top::text::numeric + 1 - oldest)::bigint;
    UPDATE public.log_clock SET shift = new_shift, rebased_at = now(), rebased_above = top;
    EXECUTE format(
        'ALTER TABLE public.events ALTER COLUMN transaction_id SET DEFAULT ((pg_catalog.pg_current_xact_id()::text::bigint + %s)::text::pg_catalog.xid8)',
        new_shift);
    RETURN new_shift;
END
$$;

REVOKE ALL ON FUNCTION callaudit_log_snapshot(), callaudit_log_top(), callaudit_log_clock_behind(), callaudit_log_clock_rebase() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION callaudit_log_snapshot(), callaudit_log_top(), callaudit_log_clock_behind() TO callaudit_writer, callaudit_reader;

-- The column default names the cluster's id by its schema, as the rebase writes it.
ALTER TABLE events ALTER COLUMN transaction_id SET DEFAULT pg_catalog.pg_current_xact_id();
