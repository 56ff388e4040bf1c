-- A summary of cases for statistics: for each month (in Guatemala) and
-- institution, and each pair of the case's single-valued dimensions
-- (department, entry point, urgency, status, age band, sex, nationality,
-- population and care status; a dimension paired with itself included),
-- how many cases have each pair of values and the sum of their record keys
-- modulo 2^32. A two-dimension table of cases without filters reads a few
-- thousand rows of it instead of every case; counts and keys are exact (the
-- same as counting the cases), so figures are the same whichever way they
-- are counted. Kept by triggers in the transaction that files or changes a
-- case, owned by the schema owner: the application may read it, never
-- write it.

-- +goose Up
CREATE TABLE stat_case_pairs (
  month            date NOT NULL,
  institution_code text NOT NULL,
  dim_a            text NOT NULL,
  val_a            text NOT NULL,
  dim_b            text NOT NULL,
  val_b            text NOT NULL,
  n                bigint NOT NULL,
  k                bigint NOT NULL CHECK (k BETWEEN 0 AND 4294967295),
  PRIMARY KEY (dim_a, dim_b, month, institution_code, val_a, val_b)
);

-- +goose StatementBegin
-- The single-valued dimensions of a case, named as internal/statistics
-- names them, with the values its queries give them.
CREATE FUNCTION stat_case_dims(c cases, ch children) RETURNS TABLE (d text, v text)
LANGUAGE sql IMMUTABLE AS $$
  VALUES ('DEPARTMENT', c.department_code), ('ENTRY_POINT', COALESCE(c.entry_point_code, 'UNKNOWN')),
         ('URGENCY', c.urgency), ('STATUS', c.status), ('AGE_BAND', COALESCE(ch.age_band, 'UNKNOWN')),
         ('SEX', COALESCE(ch.sex, 'UNKNOWN')), ('NATIONALITY', COALESCE(ch.nationality, 'UNKNOWN')),
         ('POPULATION_STATUS', COALESCE(ch.population_status, 'UNKNOWN')), ('CARE_STATUS', COALESCE(ch.care_status, 'UNKNOWN'))
$$;

-- stat_case_move takes case oc of child och out of the summary and puts
-- case nc of child nch in (either may be NULL: a filing puts in only), in
-- one statement that writes only the rows that change, in the order of the
-- primary key: every writer locks rows in the same order, so concurrent
-- filings and transitions wait for each other but never deadlock.
CREATE FUNCTION stat_case_move(oc cases, och children, nc cases, nch children) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
  INSERT INTO stat_case_pairs AS s (month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
  SELECT month, inst, da, va, db, vb, sum(sign), ((sum(sign * key) % 4294967296) + 4294967296) % 4294967296
  FROM (
    SELECT date_trunc('month', oc.created_at AT TIME ZONE 'America/Guatemala')::date AS month, oc.institution_code AS inst,
           a.d AS da, a.v AS va, b.d AS db, b.v AS vb, -1 AS sign, oc.record_key AS key
    FROM stat_case_dims(oc, och) a, stat_case_dims(oc, och) b
    WHERE a.d <= b.d AND oc.id IS NOT NULL
    UNION ALL
    SELECT date_trunc('month', nc.created_at AT TIME ZONE 'America/Guatemala')::date, nc.institution_code,
           a.d, a.v, b.d, b.v, 1, nc.record_key
    FROM stat_case_dims(nc, nch) a, stat_case_dims(nc, nch) b
    WHERE a.d <= b.d AND nc.id IS NOT NULL
  ) x
  GROUP BY da, db, month, inst, va, vb
  HAVING sum(sign) <> 0
  ORDER BY da, db, month, inst, va, vb
  ON CONFLICT (dim_a, dim_b, month, institution_code, val_a, val_b) DO UPDATE
  SET n = s.n + EXCLUDED.n, k = (s.k + EXCLUDED.k) % 4294967296
$$;

CREATE FUNCTION stat_cases_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  och children;
  nch children;
BEGIN
  SELECT * INTO nch FROM children WHERE id = NEW.child_id;
  IF TG_OP = 'INSERT' THEN
    PERFORM stat_case_move(NULL, NULL, NEW, nch);
  ELSIF (OLD.department_code, OLD.entry_point_code, OLD.urgency, OLD.status, OLD.institution_code, OLD.created_at, OLD.child_id)
        IS DISTINCT FROM (NEW.department_code, NEW.entry_point_code, NEW.urgency, NEW.status, NEW.institution_code, NEW.created_at, NEW.child_id) THEN
    SELECT * INTO och FROM children WHERE id = OLD.child_id;
    PERFORM stat_case_move(OLD, och, NEW, nch);
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION stat_children_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  c cases;
BEGIN
  IF (OLD.age_band, OLD.sex, OLD.nationality, OLD.population_status, OLD.care_status)
     IS NOT DISTINCT FROM (NEW.age_band, NEW.sex, NEW.nationality, NEW.population_status, NEW.care_status) THEN
    RETURN NULL;
  END IF;
  FOR c IN SELECT * FROM cases WHERE child_id = NEW.id ORDER BY id LOOP
    PERFORM stat_case_move(c, OLD, c, NEW);
  END LOOP;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER cases_stat_summary AFTER INSERT OR UPDATE ON cases
  FOR EACH ROW EXECUTE FUNCTION stat_cases_changed();
CREATE TRIGGER children_stat_summary AFTER UPDATE ON children
  FOR EACH ROW EXECUTE FUNCTION stat_children_changed();

-- +goose StatementBegin
-- stat_case_rebuild counts the summary again from the cases (after a bulk
-- load with the trigger disabled, or to check it).
CREATE FUNCTION stat_case_rebuild() RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
  DELETE FROM stat_case_pairs;
  INSERT INTO stat_case_pairs (month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
  SELECT date_trunc('month', c.created_at AT TIME ZONE 'America/Guatemala')::date, c.institution_code, a.d, a.v, b.d, b.v,
         count(*), sum(c.record_key) % 4294967296
  FROM cases c JOIN children ch ON ch.id = c.child_id,
       LATERAL stat_case_dims(c, ch) a, LATERAL stat_case_dims(c, ch) b
  WHERE a.d <= b.d
  GROUP BY 1, 2, 3, 4, 5, 6
$$;
-- +goose StatementEnd

-- The cases already on file.
SELECT stat_case_rebuild();

REVOKE ALL ON FUNCTION stat_case_move(cases, children, cases, children), stat_case_rebuild() FROM PUBLIC;
GRANT SELECT ON stat_case_pairs TO amparo_app;

-- +goose Down
DROP TRIGGER children_stat_summary ON children;
DROP TRIGGER cases_stat_summary ON cases;
DROP FUNCTION stat_case_rebuild(), stat_children_changed(), stat_cases_changed(), stat_case_move(cases, children, cases, children), stat_case_dims(cases, children);
DROP TABLE stat_case_pairs;
