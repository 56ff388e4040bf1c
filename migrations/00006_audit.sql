-- The audit trail: one row per thing that happened, written in the same
-- transaction as the change it records.
--
-- Append-only twice over: amparo_app holds INSERT and SELECT and nothing
-- else, and triggers set ENABLE ALWAYS refuse UPDATE, DELETE and TRUNCATE for
-- every role, the owner included (a superuser can still disable them; the
-- sealed hash tree is what catches that).

-- +goose Up
CREATE SCHEMA audit;
GRANT USAGE ON SCHEMA audit TO amparo_app;

CREATE TABLE audit.events (
  id                bigserial PRIMARY KEY,
  occurred_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor_id          uuid,
  actor_institution text NOT NULL DEFAULT '',
  actor_roles       text[] NOT NULL DEFAULT '{}',
  action            text NOT NULL CHECK (action ~ '^[a-z]+(:[a-zA-Z]+)+$'),
  object_type       text NOT NULL,
  object_id         text NOT NULL DEFAULT '',
  outcome           text NOT NULL CHECK (outcome IN ('SUCCESS', 'DENIED')),
  request_id        text NOT NULL DEFAULT '',
  client_addr       text NOT NULL DEFAULT '',
  -- ids and hashes only: never names, dates of birth or free text about a child
  details           jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_object ON audit.events (object_type, object_id);
CREATE INDEX events_actor ON audit.events (actor_id, occurred_at);
CREATE INDEX events_institution ON audit.events (actor_institution, occurred_at);

-- +goose StatementBegin
CREATE FUNCTION audit.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit.% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON audit.events
  FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON audit.events
  FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_no_update_delete;
ALTER TABLE audit.events ENABLE ALWAYS TRIGGER events_no_truncate;

GRANT SELECT, INSERT ON audit.events TO amparo_app;
GRANT USAGE ON SEQUENCE audit.events_id_seq TO amparo_app;

-- +goose Down
DROP SCHEMA audit CASCADE;
