-- Sealing the audit trail (internal/audit): a sealer, one leader among the
-- replicas, takes committed events in id order and makes each one a leaf of
-- an RFC 6962 Merkle tree; signed checkpoints of that tree are kept here and,
-- compliance-locked, in an object store. Nothing here is in the write path of
-- a request: the only cost to a writer is the transaction id taken below.
--
-- The sealer must never seal event N+1 while event N may still commit. Event
-- ids come from a sequence, outside transactions, so ids and commit order
-- differ. The sealer reads the last id handed out (V), then takes a
-- transaction id of its own (X); once no transaction older than X is
-- running, every id up to V is final: committed and visible, or a permanent
-- gap. That holds only if a writer holds a transaction id before it takes an
-- event id, which audit.next_event_id() makes sure of, and if the sequence
-- hands out ids in order across sessions (CACHE 1). Every sealed event's
-- xid is then older than the oldest running transaction.
--
-- The sealing tables are append-only like audit.events: amparo_app holds
-- INSERT and SELECT only, and the triggers of 00006 refuse UPDATE, DELETE
-- and TRUNCATE for every role. A superuser can still disable them; what was
-- checkpointed is then caught by `amparo audit verify`.

-- +goose Up
-- The transaction that wrote the event. Not part of the sealed bytes: it is
-- bookkeeping for the sealer (an event whose transaction may still be running
-- is never sealed) and for whoever investigates a finding.
ALTER TABLE audit.events ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();

-- +goose StatementBegin
CREATE FUNCTION audit.next_event_id() RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  -- A transaction id first, then the event id: see the comment at the top.
  PERFORM pg_current_xact_id();
  RETURN nextval('audit.events_id_seq');
END
$$;
-- +goose StatementEnd
ALTER TABLE audit.events ALTER COLUMN id SET DEFAULT audit.next_event_id();
ALTER SEQUENCE audit.events_id_seq CACHE 1;
-- The sealer reads the sequence's last value (never sets it).
GRANT SELECT ON SEQUENCE audit.events_id_seq TO amparo_app;

-- One row per sealed event: leaf idx of the tree (0, 1, 2, ... without gaps),
-- the event's canonical bytes exactly as hashed (audit.Entry's encoding),
-- and the tlog stored hashes written with this leaf (golang.org/x/mod/sumdb/
-- tlog StoredHashes: the leaf hash, then the hashes of the subtrees the leaf
-- completes), 32 bytes each.
CREATE TABLE audit.leaves (
  idx       bigint PRIMARY KEY CHECK (idx >= 0),
  event_id  bigint NOT NULL UNIQUE,
  body      bytea NOT NULL,
  hashes    bytea NOT NULL CHECK (length(hashes) >= 32 AND length(hashes) % 32 = 0),
  sealed_at timestamptz NOT NULL DEFAULT now()
);

-- Signed checkpoints (C2SP tlog-checkpoint notes), each also written to the
-- audit bucket under object_key with compliance retention; object_version
-- is the locked version that holds exactly these bytes.
CREATE TABLE audit.checkpoints (
  tree_size      bigint PRIMARY KEY CHECK (tree_size > 0),
  note           text NOT NULL,
  object_key     text NOT NULL,
  object_version text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER leaves_no_update_delete BEFORE UPDATE OR DELETE ON audit.leaves
  FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER leaves_no_truncate BEFORE TRUNCATE ON audit.leaves
  FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
ALTER TABLE audit.leaves ENABLE ALWAYS TRIGGER leaves_no_update_delete;
ALTER TABLE audit.leaves ENABLE ALWAYS TRIGGER leaves_no_truncate;

CREATE TRIGGER checkpoints_no_update_delete BEFORE UPDATE OR DELETE ON audit.checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON audit.checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
ALTER TABLE audit.checkpoints ENABLE ALWAYS TRIGGER checkpoints_no_update_delete;
ALTER TABLE audit.checkpoints ENABLE ALWAYS TRIGGER checkpoints_no_truncate;

GRANT SELECT, INSERT ON audit.leaves, audit.checkpoints TO amparo_app;

-- +goose Down
DROP TABLE audit.checkpoints, audit.leaves;
ALTER TABLE audit.events ALTER COLUMN id SET DEFAULT nextval('audit.events_id_seq');
DROP FUNCTION audit.next_event_id();
REVOKE SELECT ON SEQUENCE audit.events_id_seq FROM amparo_app;
ALTER TABLE audit.events DROP COLUMN xid;
