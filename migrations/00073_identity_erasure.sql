-- Erasing a child's identity for good (crypto-shredding, issue 13): a
-- supervisor asks, another supervisor approves, and then the data keys of
-- the case and of the complaints linked to it are destroyed. Everything
-- sealed under them (the identity, the narratives, the complainants) can
-- never be opened again; the structured record, the statistics and the
-- audit trail stay.
--
-- The application cannot delete a data key itself: only erase_case_keys
-- does, and only for an erasure approved by someone other than who asked.

-- +goose Up
CREATE TABLE identity_erasures (
  id           uuid PRIMARY KEY,
  case_id      uuid NOT NULL REFERENCES cases (id),
  -- why, as a code: an erasure carries no free text
  ground       text NOT NULL CHECK (ground IN ('DATA_SUBJECT_REQUEST', 'COURT_ORDER', 'REGISTERED_IN_ERROR', 'RETENTION_ENDED')),
  requested_by uuid NOT NULL REFERENCES users (id),
  requested_at timestamptz NOT NULL,
  approved_by  uuid REFERENCES users (id),
  approved_at  timestamptz,
  -- how many data keys were destroyed
  keys_erased  int,
  CHECK ((approved_by IS NULL) = (approved_at IS NULL)),
  CHECK (approved_by IS NULL OR approved_by <> requested_by)
);
-- One pending request per case, and one erasure.
CREATE UNIQUE INDEX identity_erasures_pending ON identity_erasures (case_id) WHERE approved_at IS NULL;
CREATE UNIQUE INDEX identity_erasures_done ON identity_erasures (case_id) WHERE approved_at IS NOT NULL;
GRANT SELECT, INSERT, UPDATE (approved_by, approved_at) ON identity_erasures TO amparo_app;

ALTER TABLE cases ADD COLUMN identity_erased_at timestamptz;

-- +goose StatementBegin
CREATE FUNCTION erase_case_keys(erasure uuid) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  e identity_erasures;
  n int;
BEGIN
  SELECT * INTO e FROM identity_erasures WHERE id = erasure FOR UPDATE;
  IF NOT FOUND OR e.approved_by IS NULL OR e.approved_by = e.requested_by OR e.keys_erased IS NOT NULL THEN
    RAISE EXCEPTION 'identity erasure % is not approved by a second person, or already done', erasure
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  DELETE FROM data_keys
  WHERE (owner_kind = 'case' AND owner_id = e.case_id)
     OR (owner_kind = 'complaint' AND owner_id IN (SELECT id FROM complaints WHERE case_id = e.case_id));
  GET DIAGNOSTICS n = ROW_COUNT;
  UPDATE identity_erasures SET keys_erased = n WHERE id = erasure;
  RETURN n;
END $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION erase_case_keys(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION erase_case_keys(uuid) TO amparo_app;

-- +goose Down
DROP FUNCTION erase_case_keys(uuid);
ALTER TABLE cases DROP COLUMN identity_erased_at;
DROP TABLE identity_erasures;
