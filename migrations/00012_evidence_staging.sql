-- Evidence objects on their way to being final, and the retention each one
-- is locked under.
--
-- An upload writes its row here before the first byte goes to MinIO, marks
-- it committed in the transaction that records the evidence, and deletes it
-- once the object is locked. Whatever is left is the janitor's work list:
-- uncommitted rows past a grace period are abandoned uploads whose objects
-- it removes; committed rows are objects whose locking was interrupted,
-- which it finishes. The list is exact, so the janitor never has to scan the
-- bucket.

-- +goose Up
ALTER TABLE evidence ADD COLUMN retain_until timestamptz;
UPDATE evidence SET retain_until = date_trunc('second', uploaded_at) + interval '10 years';
ALTER TABLE evidence ALTER COLUMN retain_until SET NOT NULL;

CREATE TABLE evidence_staging (
  object_key  text PRIMARY KEY,
  -- the id the evidence row will have; no foreign key, since that row
  -- exists only once the upload commits
  evidence_id uuid NOT NULL UNIQUE,
  started_at  timestamptz NOT NULL DEFAULT now(),
  committed   boolean NOT NULL DEFAULT false,
  attempts    integer NOT NULL DEFAULT 0,
  last_error  text
);
CREATE INDEX evidence_staging_started ON evidence_staging (started_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON evidence_staging TO amparo_app;

-- Evidence stored before this migration was never locked: the janitor's
-- next pass locks it.
INSERT INTO evidence_staging (object_key, evidence_id, started_at, committed)
SELECT object_key, id, uploaded_at, true FROM evidence;

-- +goose Down
DROP TABLE evidence_staging;
ALTER TABLE evidence DROP COLUMN retain_until;
