-- People who sign in, and the roles they hold in an institution.

-- +goose Up
CREATE TABLE users (
  id               uuid PRIMARY KEY,
  email            text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) <= 254),
  display_name     text NOT NULL DEFAULT '',
  -- NULL for system users (admins), who belong to no institution and see no case
  institution_code text REFERENCES institutions (code),
  -- the identity provider's subject ("sub" claim) that signs this person in
  subject          text NOT NULL UNIQUE,
  disabled_at      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);

-- A grant of a role in a domain: an institution code, or "system" for admins.
-- casbin's grouping rules (g, user, role, domain) are read from this table.
CREATE TABLE role_grants (
  user_id    uuid NOT NULL REFERENCES users (id),
  role       text NOT NULL CHECK (role IN ('intake', 'officer', 'supervisor', 'oversight', 'admin')),
  domain     text NOT NULL,
  granted_by uuid REFERENCES users (id),
  granted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, role, domain)
);

GRANT SELECT, INSERT, UPDATE ON users TO amparo_app;
GRANT SELECT, INSERT, DELETE ON role_grants TO amparo_app;

-- +goose Down
DROP TABLE role_grants, users;
