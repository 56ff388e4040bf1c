-- Record keys for statistical disclosure control (internal/statistics).
--
-- Every counted record (case, violation, complaint, complaint violation,
-- referral) gets a random 32-bit key when it is inserted. The key of a
-- table cell is the sum of its records' keys modulo 2^32; the cell's
-- perturbation is looked up from that key, so the same records always get
-- the same perturbation in every table and query, and no two queries can be
-- differenced to undo it. The keys are drawn from gen_random_uuid (the
-- server's strong random source), set by a column DEFAULT so that no insert
-- code has to know about them, and never change afterwards (trigger). They
-- are never shown: knowing them would undo the perturbation.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION stat_record_key() RETURNS bigint LANGUAGE sql VOLATILE AS $$
  SELECT ('x' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 8))::bit(32)::bigint
$$;

CREATE FUNCTION stat_keep_record_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.record_key := OLD.record_key;
  RETURN NEW;
END
$$;
-- +goose StatementEnd

ALTER TABLE cases ADD COLUMN record_key bigint NOT NULL DEFAULT stat_record_key()
  CHECK (record_key BETWEEN 0 AND 4294967295);
ALTER TABLE case_violations ADD COLUMN record_key bigint NOT NULL DEFAULT stat_record_key()
  CHECK (record_key BETWEEN 0 AND 4294967295);
ALTER TABLE complaints ADD COLUMN record_key bigint NOT NULL DEFAULT stat_record_key()
  CHECK (record_key BETWEEN 0 AND 4294967295);
ALTER TABLE complaint_violations ADD COLUMN record_key bigint NOT NULL DEFAULT stat_record_key()
  CHECK (record_key BETWEEN 0 AND 4294967295);
ALTER TABLE referrals ADD COLUMN record_key bigint NOT NULL DEFAULT stat_record_key()
  CHECK (record_key BETWEEN 0 AND 4294967295);

CREATE TRIGGER cases_keep_record_key BEFORE UPDATE OF record_key ON cases
  FOR EACH ROW EXECUTE FUNCTION stat_keep_record_key();
CREATE TRIGGER complaints_keep_record_key BEFORE UPDATE OF record_key ON complaints
  FOR EACH ROW EXECUTE FUNCTION stat_keep_record_key();
CREATE TRIGGER referrals_keep_record_key BEFORE UPDATE OF record_key ON referrals
  FOR EACH ROW EXECUTE FUNCTION stat_keep_record_key();

GRANT EXECUTE ON FUNCTION stat_record_key() TO amparo_app;

-- +goose Down
DROP TRIGGER referrals_keep_record_key ON referrals;
DROP TRIGGER complaints_keep_record_key ON complaints;
DROP TRIGGER cases_keep_record_key ON cases;
ALTER TABLE referrals DROP COLUMN record_key;
ALTER TABLE complaint_violations DROP COLUMN record_key;
ALTER TABLE complaints DROP COLUMN record_key;
ALTER TABLE case_violations DROP COLUMN record_key;
ALTER TABLE cases DROP COLUMN record_key;
DROP FUNCTION stat_keep_record_key();
DROP FUNCTION stat_record_key();
