-- Personal data at rest, encrypted per person (the subject vault), and the
-- DPO's requests.
--
-- A person is a subject_ref with a data key wrapped by the key-encryption
-- key (KEK), which never enters the database. Persons are found by blind
-- indexes: HMAC-SHA256 of a normalised identifier under a secret index key
-- (itself wrapped by the KEK, in vault_keys). Erasure destroys the data key
-- and deletes the blind indexes: no function of an identifier remains.

CREATE TABLE vault_keys (
    name        text PRIMARY KEY,
    kek_id      text NOT NULL,
    wrapped     bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subjects (
    subject_ref  text COLLATE "C" PRIMARY KEY,
    kek_id       text,
    wrapped_key  bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    erased_at    timestamptz,
    CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL))
);

CREATE TABLE subject_index (
    blind_index  bytea PRIMARY KEY CHECK (length(blind_index) = 32),
    subject_ref  text COLLATE "C" NOT NULL REFERENCES subjects,
    kind         text NOT NULL
);
CREATE INDEX subject_index_subject ON subject_index (subject_ref);

-- New persons and the links of their identifiers, in one round trip and
-- atomically. An identifier another writer linked first fails the call as a
-- serialization failure: the caller resolves the batch again.
CREATE FUNCTION callaudit_add_subjects(
    refs text[], wrapped bytea[], kek text, indexes bytea[], index_refs text[], kinds text[]
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    linked bigint;
BEGIN
    INSERT INTO subjects (subject_ref, kek_id, wrapped_key) SELECT r, kek, w FROM unnest(refs, wrapped) AS x(r, w);
    INSERT INTO subject_index (blind_index, subject_ref, kind)
    SELECT b, r, k FROM unnest(indexes, index_refs, kinds) AS x(b, r, k)
    ON CONFLICT (blind_index) DO NOTHING;
    GET DIAGNOSTICS linked = ROW_COUNT;
    IF linked < coalesce(cardinality(indexes), 0) THEN
        RAISE EXCEPTION 'an identifier was linked to a person concurrently; resolving again' USING ERRCODE = 'serialization_failure';
    END IF;
END
$$;

-- Bumped by every erasure: writers forget the persons they cached. A KEK
-- rotation names the new current KEK here: every instance re-reads its KEK
-- file when it sees an id it does not hold as current.
CREATE TABLE vault_epoch (erasures bigint NOT NULL, kek_current text);
INSERT INTO vault_epoch VALUES (0, NULL);

-- Dead letters hold raw messages, which may carry personal data: they are
-- sealed with a key of their own, linked by blind index to the persons whose
-- identifiers they mention, so erasing a person shreds them too.
ALTER TABLE dead_letters
    ADD COLUMN sealed       bytea,
    ADD COLUMN wrapped_key  bytea,
    ADD COLUMN kek_id       text,
    ADD COLUMN erased_at    timestamptz,
    ALTER COLUMN headers DROP NOT NULL;

CREATE TABLE dead_letter_subjects (
    blind_index     bytea NOT NULL,
    dead_letter_id  bigint NOT NULL REFERENCES dead_letters (id),
    PRIMARY KEY (blind_index, dead_letter_id)
);

-- Export files this service wrote to disk, deleted when their person is erased.
CREATE TABLE subject_exports (
    path         text NOT NULL,
    subject_ref  text COLLATE "C" NOT NULL,
    request_id   text NOT NULL,
    written_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (path, subject_ref)
);
CREATE INDEX subject_exports_subject ON subject_exports (subject_ref);

-- A request is the fold of its stream (opened, extended, closed, erased):
-- these few events are read directly, by stream, without an index on every event.
CREATE INDEX events_request_streams ON events (stream, position) WHERE stream LIKE 'subject-request-%';

REVOKE ALL ON vault_keys, subjects, subject_index, vault_epoch, dead_letter_subjects, subject_exports FROM PUBLIC;
GRANT SELECT, INSERT ON vault_keys TO callaudit_writer;
GRANT SELECT, INSERT, UPDATE ON subjects, vault_epoch TO callaudit_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON subject_index, dead_letter_subjects, subject_exports TO callaudit_writer;
-- A key rotation re-wraps; nothing else changes vault_keys.
GRANT UPDATE (kek_id, wrapped) ON vault_keys TO callaudit_writer;

-- Projections now hold subject refs, never hashes of identifiers; a subject's
-- calls carry the party it was; a call's facts what a subject export shows.
ALTER TABLE compliance_subject_calls ADD COLUMN party_id text;
COMMENT ON COLUMN compliance_requests.subject_keys IS 'subject refs (pseudonyms) of the persons the request names; never identifiers';
COMMENT ON TABLE compliance_subject_calls IS 'which person (subject_ref) took part in which call, as which party';
ALTER TABLE activity_calls
    ADD COLUMN direction         text,
    ADD COLUMN channel           text,
    ADD COLUMN source            text,
    ADD COLUMN started_position  bigint;
ALTER TABLE activity_accesses ADD COLUMN recipient_organization text;
CREATE INDEX activity_accesses_recording ON activity_accesses (recording_id);

-- Their meaning changed: the leaders rebuild them on their next round.
UPDATE projection_checkpoints SET rebuild_requested = true WHERE projection IN ('compliance', 'activity');
