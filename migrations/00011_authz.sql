-- The casbin policy as loaded by the servers, and the record of identities
-- revealed by oversight bodies.

-- +goose Up
-- policies/policy.csv is the source of truth; each server writes it here at
-- start (in one transaction, under a lock) and every replica enforces what
-- this table holds, so a policy change rolls out with the release.
CREATE TABLE authz_rules (
  ptype text NOT NULL,
  v0    text NOT NULL,
  v1    text NOT NULL,
  v2    text NOT NULL,
  v3    text NOT NULL DEFAULT '',
  PRIMARY KEY (ptype, v0, v1, v2, v3)
);
GRANT SELECT, INSERT, DELETE ON authz_rules TO amparo_app;

-- An oversight body revealed the identity of a child, with a written
-- justification. The owning institution can list them. Never updated.
CREATE TABLE identity_reveals (
  id            uuid PRIMARY KEY,
  case_id       uuid NOT NULL REFERENCES cases (id),
  child_id      uuid NOT NULL REFERENCES children (id),
  revealed_by   uuid NOT NULL REFERENCES users (id),
  institution   text NOT NULL,
  justification text NOT NULL CHECK (length(justification) >= 20),
  revealed_at   timestamptz NOT NULL
);
CREATE INDEX identity_reveals_case ON identity_reveals (case_id, revealed_at);
GRANT SELECT, INSERT ON identity_reveals TO amparo_app;

-- +goose Down
DROP TABLE identity_reveals, authz_rules;
