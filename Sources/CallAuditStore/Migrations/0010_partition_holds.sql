-- A partition ingest stopped at a gap (its position outside what Kafka keeps),
-- kept in the database rather than in one process's memory: a restart, a lost
-- lead, a rebalance or another partition's release must not resume it from its
-- stored position once a recreated topic has grown past that position, which
-- would skip the new topic's first messages without a gap event.
-- Written (idempotently) by ingest when it pauses the partition; deleted only
-- inside `callaudit ingest accept-gap`'s transaction, with the gap event.
CREATE TABLE kafka_partition_holds (
    consumer_group  text        NOT NULL,
    topic           text        NOT NULL,
    partition       integer     NOT NULL CHECK (partition >= 0),
    -- The offset Kafka refused to serve (librdkafka's word; negative when it did not say).
    refused_offset  bigint      NOT NULL,
    -- The position stored in kafka_offsets when the partition was held.
    stored_offset   bigint,
    -- Kafka's watermarks when the hold was made, when Kafka answered: the
    -- best record of the gap once a recreated topic has grown past it.
    low_watermark   bigint,
    high_watermark  bigint,
    since           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

-- Least privilege: ingest inserts and reads; accept-gap (the same credential)
-- deletes. No UPDATE: a hold is never rewritten, only made and released.
REVOKE ALL ON kafka_partition_holds FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON kafka_partition_holds TO callaudit_writer;
GRANT SELECT ON kafka_partition_holds TO callaudit_reader;
