-- The audit trail against its own application role.
--
-- Until here amparo_app could INSERT into audit.leaves and audit.checkpoints
-- (a forged checkpoint row stops the sealer and every proof), and could name
-- occurred_at, id and xid when it wrote an event (an event dated 2020 that
-- verify took as written). Now:
--
--   * amparo_sealer, a role of its own that the sealer logs in as
--     (AMPARO_SEALER_DATABASE_URL), is the only one that writes leaves and
--     checkpoints. It reads events and writes nothing else. A separate login
--     rather than SET ROLE from the application's connection: SET ROLE
--     needs membership, and a member of amparo_sealer could write leaves
--     itself, which is what this migration takes away.
--   * amparo_app inserts events naming only what it knows; id, occurred_at
--     and xid are the server's (their defaults: the sequence, clock_timestamp()
--     and the writing transaction), a privilege on columns it does not have.
--     Only the schema owner can still name them, and what it writes that way
--     out of time order is what `amparo audit verify` reports (EVENT_TIME).
--
-- The role is created NOLOGIN when missing; whoever operates the cluster
-- gives it LOGIN and a password (amparo dev and the test harness do).

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'amparo_sealer') THEN
    CREATE ROLE amparo_sealer NOLOGIN;
  END IF;
END
$$;
-- +goose StatementEnd

GRANT USAGE ON SCHEMA audit TO amparo_sealer;
GRANT SELECT ON audit.events TO amparo_sealer;
GRANT SELECT ON SEQUENCE audit.events_id_seq TO amparo_sealer;
GRANT SELECT, INSERT ON audit.leaves, audit.checkpoints TO amparo_sealer;

REVOKE INSERT ON audit.leaves, audit.checkpoints FROM amparo_app;

REVOKE INSERT ON audit.events FROM amparo_app;
GRANT INSERT (actor_id, actor_institution, actor_roles, action, object_type, object_id, outcome,
  request_id, client_addr, details) ON audit.events TO amparo_app;

-- +goose Down
REVOKE INSERT (actor_id, actor_institution, actor_roles, action, object_type, object_id, outcome,
  request_id, client_addr, details) ON audit.events FROM amparo_app;
GRANT INSERT ON audit.events TO amparo_app;
GRANT INSERT ON audit.leaves, audit.checkpoints TO amparo_app;
REVOKE ALL ON audit.leaves, audit.checkpoints, audit.events FROM amparo_sealer;
REVOKE ALL ON SEQUENCE audit.events_id_seq FROM amparo_sealer;
REVOKE USAGE ON SCHEMA audit FROM amparo_sealer;
