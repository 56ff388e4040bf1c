-- Separation of duties in role grants (internal/user): a grant of a role
-- that reads children's identities takes two admins, one who asks and
-- another who approves. The request waits here; the grant, once approved,
-- names both (granted_by asked, approved_by approved).

-- +goose Up
CREATE TABLE role_grant_requests (
  id           uuid PRIMARY KEY,
  user_id      uuid NOT NULL REFERENCES users (id),
  role         text NOT NULL CHECK (role IN ('intake', 'officer', 'supervisor', 'oversight', 'admin')),
  domain       text NOT NULL,
  requested_by uuid NOT NULL REFERENCES users (id),
  requested_at timestamptz NOT NULL,
  approved_by  uuid REFERENCES users (id),
  approved_at  timestamptz,
  CHECK ((approved_by IS NULL) = (approved_at IS NULL)),
  -- the second admin is another admin, and not the account itself
  CHECK (approved_by IS NULL OR (approved_by <> requested_by AND approved_by <> user_id)),
  CHECK (requested_by <> user_id)
);
-- One pending request per user, role and domain.
CREATE UNIQUE INDEX role_grant_requests_pending ON role_grant_requests (user_id, role, domain) WHERE approved_at IS NULL;
GRANT SELECT, INSERT, UPDATE (approved_by, approved_at) ON role_grant_requests TO amparo_app;

ALTER TABLE role_grants ADD COLUMN approved_by uuid REFERENCES users (id);

-- +goose Down
ALTER TABLE role_grants DROP COLUMN approved_by;
DROP TABLE role_grant_requests;
