-- Subject requests as a projection: one row per request, kept by the
-- projection runner from the request streams (opened by the DPO through the
-- API or CLI, or sent by a platform over Kafka), so that the request list and
-- the operations status read a table instead of folding every request stream
-- on each 2-second status sample.
--
-- No personal data: the person's identifiers stay sealed in the events (and
-- their keys in the vault); a row holds only the request's state. Like every
-- projection table it belongs to the owner, the service fills it only through
-- its fixed grants, and a rebuild may copy and swap it (rebuildable_tables).
CREATE TABLE subject_requests (
    request_id         text COLLATE "C" PRIMARY KEY,
    kind               text        NOT NULL CHECK (kind IN ('access', 'erasure')),
    regime             text        NOT NULL,
    -- api or cli when the DPO opened it here, kafka when the platform sent it.
    channel            text        NOT NULL,
    received_at        timestamptz NOT NULL,
    -- The opening event the request is (the first one stored: a later opening from another source is only a claim).
    received_event_id  text        NOT NULL,
    extended_at        timestamptz,
    status             text        NOT NULL CHECK (status IN ('open', 'answered', 'rejected', 'withdrawn', 'erased')),
    closed_at          timestamptz,
    CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX subject_requests_status ON subject_requests (status, received_at);

REVOKE ALL ON subject_requests FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON subject_requests TO callaudit_writer;
GRANT SELECT ON subject_requests TO callaudit_reader;

INSERT INTO rebuildable_tables VALUES ('subject_requests');
