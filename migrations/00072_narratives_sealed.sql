-- Narratives and complainants sealed at rest (package narrative): the free
-- text of cases, violations, notes, complaints and referrals, and who
-- complained, under the data key of the case or complaint they belong to
-- (migration 00070), each ciphertext bound to its table, column and row.
-- Codes, dates, age band, department and status stay in the clear for
-- filters and statistics.
--
-- Each plaintext column stays, NULL from now on: rows written before are
-- sealed by the server at start (resumable, SKIP LOCKED batches found
-- through the partial indexes below, which are empty once done), and a NOT
-- VALID check refuses plaintext in every row inserted or updated from now.

-- +goose Up
ALTER TABLE cases ADD COLUMN summary_sealed bytea, ALTER COLUMN summary DROP NOT NULL;
ALTER TABLE cases ADD CONSTRAINT cases_summary_no_plaintext CHECK (summary IS NULL) NOT VALID;
CREATE INDEX cases_summary_unsealed ON cases (id) WHERE summary IS NOT NULL;

ALTER TABLE case_violations ADD COLUMN description_sealed bytea;
ALTER TABLE case_violations ADD CONSTRAINT case_violations_description_no_plaintext CHECK (description IS NULL) NOT VALID;
CREATE INDEX case_violations_description_unsealed ON case_violations (case_id) WHERE description IS NOT NULL;

ALTER TABLE case_notes ADD COLUMN text_sealed bytea, ALTER COLUMN text DROP NOT NULL;
ALTER TABLE case_notes ADD CONSTRAINT case_notes_text_no_plaintext CHECK (text IS NULL) NOT VALID;
CREATE INDEX case_notes_text_unsealed ON case_notes (id) WHERE text IS NOT NULL;

ALTER TABLE complaints ADD COLUMN description_sealed bytea, ALTER COLUMN description DROP NOT NULL;
ALTER TABLE complaints ADD CONSTRAINT complaints_description_no_plaintext CHECK (description IS NULL) NOT VALID;
CREATE INDEX complaints_description_unsealed ON complaints (id) WHERE description IS NOT NULL;

ALTER TABLE complaint_contacts ADD COLUMN name_sealed bytea, ADD COLUMN contact_sealed bytea;
ALTER TABLE complaint_contacts ADD CONSTRAINT complaint_contacts_no_plaintext CHECK (name IS NULL AND contact IS NULL) NOT VALID;
CREATE INDEX complaint_contacts_name_unsealed ON complaint_contacts (complaint_id) WHERE name IS NOT NULL;
CREATE INDEX complaint_contacts_contact_unsealed ON complaint_contacts (complaint_id) WHERE contact IS NOT NULL;

ALTER TABLE referrals ADD COLUMN reason_sealed bytea, ALTER COLUMN reason DROP NOT NULL;
ALTER TABLE referrals ADD CONSTRAINT referrals_reason_no_plaintext CHECK (reason IS NULL) NOT VALID;
CREATE INDEX referrals_reason_unsealed ON referrals (id) WHERE reason IS NOT NULL;

-- Notes, violations and contacts are append-only: the application may
-- update them only to seal a row written before (plaintext to ciphertext),
-- never to change what is sealed.
-- +goose StatementBegin
CREATE FUNCTION narrative_seal_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  o jsonb := to_jsonb(OLD);
  n jsonb := to_jsonb(NEW);
  plain text;
  sealed text;
BEGIN
  -- arguments: pairs of (plaintext column, sealed column)
  FOR i IN 0 .. TG_NARGS / 2 - 1 LOOP
    plain := TG_ARGV[2 * i];
    sealed := TG_ARGV[2 * i + 1];
    IF (o -> plain, o -> sealed) IS DISTINCT FROM (n -> plain, n -> sealed)
       AND (o ->> plain IS NULL OR o ->> sealed IS NOT NULL OR n ->> plain IS NOT NULL) THEN
      RAISE EXCEPTION '%.%: only sealing a plaintext row is allowed', TG_TABLE_NAME, plain
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    o := o - plain - sealed;
    n := n - plain - sealed;
  END LOOP;
  IF o <> n THEN
    RAISE EXCEPTION '%: only sealing a plaintext row is allowed', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER case_notes_seal_only BEFORE UPDATE ON case_notes
  FOR EACH ROW EXECUTE FUNCTION narrative_seal_only('text', 'text_sealed');
CREATE TRIGGER case_violations_seal_only BEFORE UPDATE ON case_violations
  FOR EACH ROW EXECUTE FUNCTION narrative_seal_only('description', 'description_sealed');
CREATE TRIGGER complaint_contacts_seal_only BEFORE UPDATE ON complaint_contacts
  FOR EACH ROW EXECUTE FUNCTION narrative_seal_only('name', 'name_sealed', 'contact', 'contact_sealed');
GRANT UPDATE (text, text_sealed) ON case_notes TO amparo_app;
GRANT UPDATE (description, description_sealed) ON case_violations TO amparo_app;
GRANT UPDATE (name, name_sealed, contact, contact_sealed) ON complaint_contacts TO amparo_app;

-- +goose Down
REVOKE UPDATE (name, name_sealed, contact, contact_sealed) ON complaint_contacts FROM amparo_app;
REVOKE UPDATE (description, description_sealed) ON case_violations FROM amparo_app;
REVOKE UPDATE (text, text_sealed) ON case_notes FROM amparo_app;
DROP TRIGGER complaint_contacts_seal_only ON complaint_contacts;
DROP TRIGGER case_violations_seal_only ON case_violations;
DROP TRIGGER case_notes_seal_only ON case_notes;
DROP FUNCTION narrative_seal_only();
ALTER TABLE referrals DROP CONSTRAINT referrals_reason_no_plaintext, DROP COLUMN reason_sealed;
ALTER TABLE complaint_contacts DROP CONSTRAINT complaint_contacts_no_plaintext, DROP COLUMN name_sealed, DROP COLUMN contact_sealed;
ALTER TABLE complaints DROP CONSTRAINT complaints_description_no_plaintext, DROP COLUMN description_sealed;
ALTER TABLE case_notes DROP CONSTRAINT case_notes_text_no_plaintext, DROP COLUMN text_sealed;
ALTER TABLE case_violations DROP CONSTRAINT case_violations_description_no_plaintext, DROP COLUMN description_sealed;
ALTER TABLE cases DROP CONSTRAINT cases_summary_no_plaintext, DROP COLUMN summary_sealed;
