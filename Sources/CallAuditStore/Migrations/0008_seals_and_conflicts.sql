-- Integrity: a chain of signed seals over the log, and republishes that
-- conflict with a stored event, kept as evidence.

-- Each seal covers the events after the previous seal's end, up to its own,
-- in the projections' gap-safe order (transaction_id, position). `body` is
-- the RFC 8785 JSON that was signed: range, count, the RFC 9162 Merkle root,
-- the SHA-256 of `leaves` and of the previous seal's body, time and key id.
-- `leaves` holds, per event in seal order, its position (8 bytes, big-endian)
-- and content hash (32 bytes): the Merkle leaves, which let a verifier name
-- the exact event that was edited, deleted, inserted or moved.
CREATE TABLE seals (
    seal_no            bigint      PRIMARY KEY CHECK (seal_no > 0),
    after_txid         xid8        NOT NULL,
    after_position     bigint      NOT NULL,
    through_txid       xid8        NOT NULL,
    through_position   bigint      NOT NULL,
    event_count        integer     NOT NULL CHECK (event_count > 0),
    merkle_root        bytea       NOT NULL CHECK (length(merkle_root) = 32),
    sealed_at          timestamptz NOT NULL,
    key_id             text        NOT NULL,
    body               bytea       NOT NULL,
    signature          bytea       NOT NULL CHECK (length(signature) = 64),
    leaves             bytea       NOT NULL CHECK (length(leaves) = 40 * event_count)
);

COMMENT ON TABLE seals IS 'Signed checkpoints chaining the event log. Append-only.';

-- Hashes do not compress: storing them as they are saves the CPU pglz would spend trying.
ALTER TABLE seals ALTER COLUMN leaves SET STORAGE EXTERNAL;

CREATE TRIGGER seals_no_update_or_delete
    BEFORE UPDATE OR DELETE ON seals
    FOR EACH ROW EXECUTE FUNCTION callaudit_reject_change();

CREATE TRIGGER seals_no_truncate
    BEFORE TRUNCATE ON seals
    FOR EACH STATEMENT EXECUTE FUNCTION callaudit_reject_change();

REVOKE ALL ON seals FROM PUBLIC;
GRANT SELECT, INSERT ON seals TO callaudit_writer;
GRANT SELECT ON seals TO callaudit_reader;

-- A message that reused a stored event's (source, id) with other content:
-- the stored event stays, and this is the evidence that someone tried.
-- Recorded once per Kafka position, in the same transaction as that position.
CREATE TABLE event_conflicts (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source             text        COLLATE "C" NOT NULL,
    event_id           text        COLLATE "C" NOT NULL,
    original_position  bigint      NOT NULL,
    original_hash      bytea       NOT NULL CHECK (length(original_hash) = 32),
    conflicting_hash   bytea       NOT NULL CHECK (length(conflicting_hash) = 32),
    -- The conflicting event as it would have been stored (personal data sealed).
    conflicting_event  json        NOT NULL,
    kafka_topic        text,
    kafka_partition    integer,
    kafka_offset       bigint,
    recorded_at        timestamptz NOT NULL DEFAULT now(),
    -- Each attempt once: a redelivery of the same Kafka message is not a new attempt.
    CONSTRAINT event_conflicts_kafka_key UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE TRIGGER event_conflicts_no_update_or_delete
    BEFORE UPDATE OR DELETE ON event_conflicts
    FOR EACH ROW EXECUTE FUNCTION callaudit_reject_change();

REVOKE ALL ON event_conflicts FROM PUBLIC;
GRANT SELECT, INSERT ON event_conflicts TO callaudit_writer;
GRANT SELECT ON event_conflicts TO callaudit_reader;
