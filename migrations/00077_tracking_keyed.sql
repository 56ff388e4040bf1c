-- Tracking codes stored only as a keyed hash (package keys, Tracking): an
-- HMAC, under a key derived from the index key of AMPARO_IDENTITY_KEY, of
-- the code's SHA-256. A plain SHA-256 let anyone holding a dump confirm
-- which complaint a code seen elsewhere belongs to; the HMAC does not
-- without the key.
--
-- Rows written before keep their plain SHA-256 until the server keys them
-- at start (complaint.KeyLegacyTracking), which needs no code: the HMAC is
-- taken of the SHA-256. tracking_key names the key (NULL: not yet keyed);
-- a partial index finds the rows still to key without a scan at every
-- start.

-- +goose Up
ALTER TABLE complaints ADD COLUMN tracking_key text;
COMMENT ON COLUMN complaints.tracking_hash IS
  'HMAC-SHA256 of the SHA-256 of the normalized tracking code, under the key named by tracking_key; the code itself is shown once and never stored';
COMMENT ON COLUMN complaints.tracking_key IS
  'id of the key tracking_hash is under (keys.TrackingKeyID); NULL only on rows written before keying, until start-up keys them';
-- New rows are keyed; rows written before are not checked now (NOT VALID),
-- every insert and update is.
ALTER TABLE complaints ADD CONSTRAINT complaints_tracking_keyed CHECK (tracking_key IS NOT NULL) NOT VALID;
CREATE INDEX complaints_tracking_unkeyed ON complaints (id) WHERE tracking_key IS NULL;

-- What keys outside the database must be, checked at start: a server
-- given another key file must stop, not key old codes under a wrong key
-- (they could never be found again). A fingerprint is an HMAC of a label:
-- it tells nothing of the key.
CREATE TABLE key_fingerprints (
  purpose     text PRIMARY KEY,
  fingerprint bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON key_fingerprints TO amparo_app;

-- +goose Down
DROP TABLE key_fingerprints;
ALTER TABLE complaints DROP CONSTRAINT complaints_tracking_keyed, DROP COLUMN tracking_key;
