-- Projection bookkeeping. A projection's checkpoint is written in the same
-- transaction as its changes. Projections read events in (transaction_id,
-- position) order and only below the oldest transaction still in flight, so
-- an event committed late by a concurrent writer is never skipped.

CREATE TABLE projection_checkpoints (
    projection          text        PRIMARY KEY,
    last_transaction_id xid8        NOT NULL DEFAULT '0',
    last_position       bigint      NOT NULL DEFAULT 0,
    events_applied      bigint      NOT NULL DEFAULT 0,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Streams whose events a projection could not apply. The projection goes on
-- with every other stream; `callaudit projections retry` re-applies these.
CREATE TABLE projection_quarantine (
    projection      text        NOT NULL,
    stream          text        NOT NULL,
    transaction_id  xid8        NOT NULL,
    position        bigint      NOT NULL,
    error           text        NOT NULL,
    quarantined_at  timestamptz NOT NULL DEFAULT now(),
    -- Set by `projections retry` while a service holds the projection; its runner then retries.
    retry_requested boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (projection, stream)
);

-- Ingest volume per UTC day and event type: what operations' dashboards poll.
CREATE TABLE projection_daily_volume (
    day         date        NOT NULL,
    type        text        COLLATE "C" NOT NULL,
    events      bigint      NOT NULL,
    PRIMARY KEY (day, type)
);

REVOKE ALL ON projection_checkpoints, projection_quarantine, projection_daily_volume FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON projection_checkpoints, projection_quarantine, projection_daily_volume TO callaudit_writer;
GRANT SELECT ON projection_checkpoints, projection_quarantine, projection_daily_volume TO callaudit_reader;
