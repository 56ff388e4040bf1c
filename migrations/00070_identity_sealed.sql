-- Identities sealed at rest (package keys): every case and complaint has a
-- data key of its own, kept here wrapped by a key-encryption key that lives
-- outside the database (AMPARO_IDENTITY_KEY). A child's identity is one
-- sealed document under the data key of the case or complaint that
-- registered the child, bound to its row; a blind index of the normalized
-- name with the birth year finds a child again without plaintext.

-- +goose Up
CREATE TABLE data_keys (
  owner_kind text NOT NULL CHECK (owner_kind IN ('case', 'complaint')),
  owner_id   uuid NOT NULL,
  -- which key-encryption key wrapped it; rotation rewraps row by row
  kek_id     text NOT NULL,
  wrapped    bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  rotated_at timestamptz,
  PRIMARY KEY (owner_kind, owner_id)
);
CREATE INDEX data_keys_kek ON data_keys (kek_id);
-- UPDATE for rotation; no DELETE: erasing a key (crypto-shredding) will be
-- a reviewed, audited path of its own.
GRANT SELECT, INSERT, UPDATE ON data_keys TO amparo_app;

ALTER TABLE child_identities
  ADD COLUMN key_kind   text CHECK (key_kind IN ('case', 'complaint')),
  ADD COLUMN key_id     uuid,
  ADD COLUMN sealed     bytea,
  ADD COLUMN name_index bytea,
  ADD COLUMN birth_year smallint,
  ADD CHECK ((sealed IS NULL) = (key_id IS NULL));
-- New rows never hold plaintext. Rows written before this migration keep
-- theirs until the server seals them at start (NOT VALID: they are not
-- checked now, every insert and update is).
ALTER TABLE child_identities ADD CONSTRAINT child_identities_no_plaintext CHECK (
  given_name IS NULL AND family_name IS NULL AND other_names IS NULL AND date_of_birth IS NULL
  AND contact IS NULL AND documents = '[]'::jsonb) NOT VALID;
CREATE INDEX child_identities_name_index ON child_identities (name_index) WHERE name_index IS NOT NULL;
-- UPDATE for sealing the rows written before.
GRANT UPDATE ON child_identities TO amparo_app;

-- +goose Down
ALTER TABLE child_identities DROP CONSTRAINT child_identities_no_plaintext,
  DROP COLUMN key_kind, DROP COLUMN key_id, DROP COLUMN sealed, DROP COLUMN name_index, DROP COLUMN birth_year;
DROP TABLE data_keys;
