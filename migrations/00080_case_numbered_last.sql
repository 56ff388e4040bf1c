-- Filing is not serialized by the case counter (issue 14): a case is
-- written unnumbered and takes its number from the institution's counter in
-- the last statement of its transaction (casefile.numberCase), so the
-- counter's row lock is held for that statement and the commit only, not
-- across the whole filing. References stay gapless: a number is taken only
-- by a transaction that commits.
--
-- reference may therefore be NULL inside that transaction, never after it:
-- a deferred constraint trigger refuses, at commit, a case still unnumbered.
-- It is queued only for rows written without a reference (WHEN), so bulk
-- loads that number their rows (amparo-load --seed) pay nothing.

-- +goose Up
ALTER TABLE cases ALTER COLUMN reference DROP NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION cases_numbered() RETURNS trigger
LANGUAGE plpgsql SET search_path = public AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM cases WHERE id = NEW.id AND reference IS NULL) THEN
    RAISE EXCEPTION 'case % has no reference', NEW.id
      USING ERRCODE = 'not_null_violation', TABLE = 'cases', COLUMN = 'reference';
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE CONSTRAINT TRIGGER cases_numbered AFTER INSERT OR UPDATE OF reference ON cases
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.reference IS NULL)
  EXECUTE FUNCTION cases_numbered();

-- +goose Down
DROP TRIGGER cases_numbered ON cases;
DROP FUNCTION cases_numbered();
ALTER TABLE cases ALTER COLUMN reference SET NOT NULL;
