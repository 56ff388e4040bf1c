-- Evidence attached to cases. Rows are never updated or deleted by the
-- application: what was uploaded is what stays.

-- +goose Up
CREATE TABLE evidence (
  id           uuid PRIMARY KEY,
  case_id      uuid NOT NULL REFERENCES cases (id),
  -- random object key that says nothing about the child or the case
  object_key   text NOT NULL UNIQUE,
  version_id   text NOT NULL DEFAULT '',
  filename     text NOT NULL,
  content_type text NOT NULL,
  size         bigint NOT NULL CHECK (size >= 0),
  sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  description  text,
  captured_at  timestamptz,
  uploaded_by  uuid NOT NULL REFERENCES users (id),
  uploaded_at  timestamptz NOT NULL
);
CREATE INDEX evidence_case ON evidence (case_id, uploaded_at);

GRANT SELECT, INSERT ON evidence TO amparo_app;

-- +goose Down
DROP TABLE evidence;
