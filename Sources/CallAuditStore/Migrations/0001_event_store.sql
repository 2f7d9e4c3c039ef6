-- The event store: append-only, enforced here and not only in code.
--
-- Roles: migrations run as the schema owner. The service logs in as a role
-- that is a member of callaudit_writer (INSERT and SELECT on events, nothing
-- more); auditors and dashboards use callaudit_reader.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callaudit_writer') THEN
        CREATE ROLE callaudit_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'callaudit_reader') THEN
        CREATE ROLE callaudit_reader NOLOGIN;
    END IF;
END
$$;

CREATE TABLE events (
    -- Global position: the order projections read in. Assigned at insert,
    -- so concurrent writers can commit positions out of order;
    -- transaction_id lets readers wait for the gaps to close.
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    -- Identifiers compare bytewise (COLLATE "C"): faster index maintenance, and
    -- no ordering that changes with the server's locale.
    stream          text        COLLATE "C" NOT NULL,
    type            text        COLLATE "C" NOT NULL,
    source          text        COLLATE "C" NOT NULL,
    event_id        text        COLLATE "C" NOT NULL,
    event_time      timestamptz NOT NULL,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    -- The whole CloudEvent in RFC 8785 canonical form, byte for byte as hashed.
    event           json        NOT NULL,
    -- SHA-256 of the UTF-8 bytes of event.
    content_hash    bytea       NOT NULL CHECK (length(content_hash) = 32),
    -- Where the event came from, for provenance and offset audits.
    kafka_topic     text,
    kafka_partition integer,
    kafka_offset    bigint,
    CONSTRAINT events_source_event_id_key UNIQUE (source, event_id)
);

-- Readers that must not skip events committed out of position order read by
-- (transaction_id, position) below the oldest transaction still in flight.
CREATE INDEX events_transaction_position ON events (transaction_id, position);

COMMENT ON TABLE events IS 'Append-only CloudEvents log. UPDATE, DELETE and TRUNCATE are rejected by trigger.';

CREATE FUNCTION callaudit_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Events are never changed or removed; erasure destroys the subject key instead.';
END
$$;

CREATE TRIGGER events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION callaudit_reject_change();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION callaudit_reject_change();

REVOKE ALL ON events FROM PUBLIC;
-- Column grants: the service cannot choose position, transaction_id or
-- ingested_at. A forged transaction id below a projection's checkpoint would
-- hide an event from every projection.
GRANT SELECT ON events TO callaudit_writer;
GRANT INSERT (stream, type, source, event_id, event_time, event, content_hash, kafka_topic, kafka_partition, kafka_offset)
    ON events TO callaudit_writer;
GRANT SELECT ON events TO callaudit_reader;

-- Kafka positions, written in the same transaction as the events they carried:
-- the consumer resumes from here, never from Kafka's committed offsets.
CREATE TABLE kafka_offsets (
    consumer_group  text        NOT NULL,
    topic           text        NOT NULL,
    partition       integer     NOT NULL,
    next_offset     bigint      NOT NULL CHECK (next_offset >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

REVOKE ALL ON kafka_offsets FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON kafka_offsets TO callaudit_writer;
GRANT SELECT ON kafka_offsets TO callaudit_reader;

-- Messages that are not acceptable events, kept verbatim with the reason,
-- in the same transaction as their offset.
CREATE TABLE dead_letters (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kafka_topic       text        NOT NULL,
    kafka_partition   integer     NOT NULL,
    kafka_offset      bigint      NOT NULL,
    kafka_timestamp   timestamptz,
    received_at       timestamptz NOT NULL DEFAULT now(),
    reason            text        NOT NULL,
    detail            text        NOT NULL,
    message_key       bytea,
    -- [{"key": name, "value_hex": bytes}] in wire order; null values as null.
    headers           json        NOT NULL,
    message_value     bytea,
    status            text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed')),
    replayed_at       timestamptz,
    replayed_position bigint,
    last_replay_error text,
    CONSTRAINT dead_letters_kafka_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE INDEX dead_letters_open ON dead_letters (id) WHERE status = 'open';

REVOKE ALL ON dead_letters FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON dead_letters TO callaudit_writer;
GRANT SELECT ON dead_letters TO callaudit_reader;

-- The service checks the schema version at start-up.
GRANT SELECT ON schema_migrations TO callaudit_writer, callaudit_reader;
