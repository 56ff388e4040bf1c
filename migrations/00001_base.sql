-- Roles, schemas and the reference tables.
--
-- amparo_app is the role the server logs in as. It owns nothing: every table
-- belongs to the role that runs the migrations, and amparo_app receives only
-- the privileges listed beside each table. The role is created here when
-- missing (NOLOGIN); whoever operates the cluster gives it LOGIN and a
-- password (amparo dev and the test harness do).

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'amparo_app') THEN
    CREATE ROLE amparo_app NOLOGIN;
  END IF;
END
$$;
-- +goose StatementEnd

GRANT USAGE ON SCHEMA public TO amparo_app;

CREATE TABLE institutions (
  code      text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9-]{1,31}$'),
  name_es   text NOT NULL,
  name_en   text NOT NULL,
  -- files, receives, oversees: what the institution does in the protection system
  functions text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE departments (
  code        text PRIMARY KEY CHECK (code ~ '^GT-[0-9]{2}$'),
  -- letter code in use before the ISO 3166-2 change of 2021-11-25; accepted as input only
  legacy_code text NOT NULL UNIQUE CHECK (legacy_code ~ '^GT-[A-Z]{2}$'),
  name        text NOT NULL,
  borders     text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE entry_points (
  code            text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]*$'),
  name            text NOT NULL,
  department_code text REFERENCES departments (code),
  neighbour       text,
  kind            text NOT NULL CHECK (kind IN ('land', 'river', 'air', 'sea', 'none'))
);

CREATE TABLE violation_categories (
  code     text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]*$'),
  label_en text NOT NULL,
  label_es text NOT NULL
);

CREATE TABLE violation_types (
  code          text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]*$'),
  category_code text NOT NULL REFERENCES violation_categories (code),
  label_en      text NOT NULL,
  label_es      text NOT NULL,
  crosswalk     text NOT NULL DEFAULT '',
  -- codes are never renamed or reused; a code that is retired is deprecated
  deprecated    boolean NOT NULL DEFAULT false
);

GRANT SELECT ON institutions, departments, entry_points, violation_categories, violation_types TO amparo_app;

-- +goose Down
DROP TABLE violation_types, violation_categories, entry_points, departments, institutions;
