-- The secret a first answer carried (a complaint's tracking code), kept so
-- that a retry whose answer was lost still gets it: sealed under the data
-- key of the record it belongs to, bound to its idempotency row, and kept
-- 24 hours only (package idempotency, secret.go). The janitor deletes the
-- secret; the idempotency row stays, so a later retry still creates
-- nothing (and is told the secret is gone).
--
-- Secrets kept in the clear before (idempotency_keys.replay_secret) are
-- moved here sealed at start (idempotency.SealLegacy), through a partial
-- index that holds only them.

-- +goose Up
CREATE TABLE idempotency_secrets (
  user_id    uuid NOT NULL,
  operation  text NOT NULL,
  key        text NOT NULL,
  -- AES-256-GCM under the result's data key; associated data: this row
  sealed     bytea NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, operation, key),
  FOREIGN KEY (user_id, operation, key) REFERENCES idempotency_keys (user_id, operation, key)
);
COMMENT ON TABLE idempotency_secrets IS
  'secrets of first answers, sealed, for retries within 24 h; deleted when expired';
CREATE INDEX idempotency_secrets_expiry ON idempotency_secrets (expires_at);
GRANT SELECT, INSERT, DELETE ON idempotency_secrets TO amparo_app;

COMMENT ON COLUMN idempotency_keys.replay_secret IS
  'no longer written: secrets were kept here in the clear before idempotency_secrets; emptied at start';
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_no_plain_secret CHECK (replay_secret IS NULL) NOT VALID;
CREATE INDEX idempotency_keys_plain_secret ON idempotency_keys (created_at) WHERE replay_secret IS NOT NULL;
-- Only to empty the column.
GRANT UPDATE (replay_secret) ON idempotency_keys TO amparo_app;

-- +goose Down
REVOKE UPDATE (replay_secret) ON idempotency_keys FROM amparo_app;
DROP INDEX idempotency_keys_plain_secret;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_no_plain_secret;
COMMENT ON COLUMN idempotency_keys.replay_secret IS NULL;
DROP TABLE idempotency_secrets;
