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
CREATE FUNCTION stat_case_dims(dept text, ep text, urg text, status text, band text, sex text, nat text, pop text, care text)
RETURNS TABLE (d text, v text) LANGUAGE sql IMMUTABLE AS $$
  VALUES ('DEPARTMENT', dept), ('ENTRY_POINT', COALESCE(ep, 'UNKNOWN')), ('URGENCY', urg), ('STATUS', status),
         ('AGE_BAND', COALESCE(band, 'UNKNOWN')), ('SEX', COALESCE(sex, 'UNKNOWN')), ('NATIONALITY', COALESCE(nat, 'UNKNOWN')),
         ('POPULATION_STATUS', COALESCE(pop, 'UNKNOWN')), ('CARE_STATUS', COALESCE(care, 'UNKNOWN'))
$$;

-- The triggers run once per statement, over the rows it changed
-- (transition tables): a COPY of ten thousand cases updates the summary
-- once. Each writes, in one statement, only the rows that change, netting
-- what leaves and what enters, in the order of the primary key: every
-- writer locks rows in the same order, so concurrent filings and
-- transitions wait for each other but never deadlock.
CREATE FUNCTION stat_cases_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  INSERT INTO stat_case_pairs AS s (month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
  SELECT x.month, x.inst, a.d, a.v, b.d, b.v, sum(x.sign), ((sum(x.sign * x.key) % 4294967296) + 4294967296) % 4294967296
  FROM (SELECT date_trunc('month', c.created_at AT TIME ZONE 'America/Guatemala')::date AS month, c.institution_code AS inst,
          1 AS sign, c.record_key AS key, c.department_code AS dept, c.entry_point_code AS ep, c.urgency AS urg, c.status,
          ch.age_band AS band, ch.sex, ch.nationality AS nat, ch.population_status AS pop, ch.care_status AS care
        FROM new_cases c JOIN children ch ON ch.id = c.child_id) x,
       LATERAL stat_case_dims(x.dept, x.ep, x.urg, x.status, x.band, x.sex, x.nat, x.pop, x.care) a,
       LATERAL stat_case_dims(x.dept, x.ep, x.urg, x.status, x.band, x.sex, x.nat, x.pop, x.care) b
  WHERE a.d <= b.d
  GROUP BY a.d, b.d, x.month, x.inst, a.v, b.v
  HAVING sum(x.sign) <> 0
  ORDER BY a.d, b.d, x.month, x.inst, a.v, b.v
  ON CONFLICT (dim_a, dim_b, month, institution_code, val_a, val_b) DO UPDATE
  SET n = s.n + EXCLUDED.n, k = (s.k + EXCLUDED.k) % 4294967296;
  RETURN NULL;
END
$$;

CREATE FUNCTION stat_cases_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  INSERT INTO stat_case_pairs AS s (month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
  SELECT x.month, x.inst, a.d, a.v, b.d, b.v, sum(x.sign), ((sum(x.sign * x.key) % 4294967296) + 4294967296) % 4294967296
  FROM (SELECT date_trunc('month', c.created_at AT TIME ZONE 'America/Guatemala')::date AS month, c.institution_code AS inst,
          -1 AS sign, c.record_key AS key, c.department_code AS dept, c.entry_point_code AS ep, c.urgency AS urg, c.status,
          ch.age_band AS band, ch.sex, ch.nationality AS nat, ch.population_status AS pop, ch.care_status AS care
        FROM old_cases c JOIN children ch ON ch.id = c.child_id
        UNION ALL
        SELECT date_trunc('month', c.created_at AT TIME ZONE 'America/Guatemala')::date AS month, c.institution_code AS inst,
          1 AS sign, c.record_key AS key, c.department_code AS dept, c.entry_point_code AS ep, c.urgency AS urg, c.status,
          ch.age_band AS band, ch.sex, ch.nationality AS nat, ch.population_status AS pop, ch.care_status AS care
        FROM new_cases c JOIN children ch ON ch.id = c.child_id) x,
       LATERAL stat_case_dims(x.dept, x.ep, x.urg, x.status, x.band, x.sex, x.nat, x.pop, x.care) a,
       LATERAL stat_case_dims(x.dept, x.ep, x.urg, x.status, x.band, x.sex, x.nat, x.pop, x.care) b
  WHERE a.d <= b.d
  GROUP BY a.d, b.d, x.month, x.inst, a.v, b.v
  HAVING sum(x.sign) <> 0
  ORDER BY a.d, b.d, x.month, x.inst, a.v, b.v
  ON CONFLICT (dim_a, dim_b, month, institution_code, val_a, val_b) DO UPDATE
  SET n = s.n + EXCLUDED.n, k = (s.k + EXCLUDED.k) % 4294967296;
  RETURN NULL;
END
$$;

CREATE FUNCTION stat_children_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  INSERT INTO stat_case_pairs AS s (month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
  SELECT x.month, x.inst, a.d, a.v, b.d, b.v, sum(x.sign), ((sum(x.sign * x.key) % 4294967296) + 4294967296) % 4294967296
  FROM (SELECT date_trunc('month', c.created_at AT TIME ZONE 'America/Guatemala')::date AS month, c.institution_code AS inst,
          -1 AS sign, c.record_key AS key, c.department_code AS dept, c.entry_point_code AS ep, c.urgency AS urg, c.status,
          ch.age_band AS band, ch.sex, ch.nationality AS nat, ch.population_status AS pop, ch.care_status AS care
        FROM old_children ch JOIN cases c ON c.child_id = ch.id
        UNION ALL
        SELECT date_trunc('month', c.created_at AT TIME ZONE 'America/Guatemala')::date AS month, c.institution_code AS inst,
          1 AS sign, c.record_key AS key, c.department_code AS dept, c.entry_point_code AS ep, c.urgency AS urg, c.status,
          ch.age_band AS band, ch.sex, ch.nationality AS nat, ch.population_status AS pop, ch.care_status AS care
        FROM new_children ch JOIN cases c ON c.child_id = ch.id) x,
       LATERAL stat_case_dims(x.dept, x.ep, x.urg, x.status, x.band, x.sex, x.nat, x.pop, x.care) a,
       LATERAL stat_case_dims(x.dept, x.ep, x.urg, x.status, x.band, x.sex, x.nat, x.pop, x.care) b
  WHERE a.d <= b.d
  GROUP BY a.d, b.d, x.month, x.inst, a.v, b.v
  HAVING sum(x.sign) <> 0
  ORDER BY a.d, b.d, x.month, x.inst, a.v, b.v
  ON CONFLICT (dim_a, dim_b, month, institution_code, val_a, val_b) DO UPDATE
  SET n = s.n + EXCLUDED.n, k = (s.k + EXCLUDED.k) % 4294967296;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER cases_stat_inserted AFTER INSERT ON cases
  REFERENCING NEW TABLE AS new_cases FOR EACH STATEMENT EXECUTE FUNCTION stat_cases_inserted();
CREATE TRIGGER cases_stat_updated AFTER UPDATE ON cases
  REFERENCING OLD TABLE AS old_cases NEW TABLE AS new_cases FOR EACH STATEMENT EXECUTE FUNCTION stat_cases_updated();
CREATE TRIGGER children_stat_updated AFTER UPDATE ON children
  REFERENCING OLD TABLE AS old_children NEW TABLE AS new_children FOR EACH STATEMENT EXECUTE FUNCTION stat_children_updated();

-- +goose StatementBegin
-- stat_case_rebuild counts the summary again from the cases (after a bulk
-- load with the triggers disabled, or to check it).
CREATE FUNCTION stat_case_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  DELETE FROM stat_case_pairs;
  INSERT INTO stat_case_pairs AS s (month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
  SELECT x.month, x.inst, a.d, a.v, b.d, b.v, sum(x.sign), ((sum(x.sign * x.key) % 4294967296) + 4294967296) % 4294967296
  FROM (SELECT date_trunc('month', c.created_at AT TIME ZONE 'America/Guatemala')::date AS month, c.institution_code AS inst,
          1 AS sign, c.record_key AS key, c.department_code AS dept, c.entry_point_code AS ep, c.urgency AS urg, c.status,
          ch.age_band AS band, ch.sex, ch.nationality AS nat, ch.population_status AS pop, ch.care_status AS care
        FROM cases c JOIN children ch ON ch.id = c.child_id) x,
       LATERAL stat_case_dims(x.dept, x.ep, x.urg, x.status, x.band, x.sex, x.nat, x.pop, x.care) a,
       LATERAL stat_case_dims(x.dept, x.ep, x.urg, x.status, x.band, x.sex, x.nat, x.pop, x.care) b
  WHERE a.d <= b.d
  GROUP BY a.d, b.d, x.month, x.inst, a.v, b.v
  HAVING sum(x.sign) <> 0
  ORDER BY a.d, b.d, x.month, x.inst, a.v, b.v
  ON CONFLICT (dim_a, dim_b, month, institution_code, val_a, val_b) DO UPDATE
  SET n = s.n + EXCLUDED.n, k = (s.k + EXCLUDED.k) % 4294967296;
END
$$;
-- +goose StatementEnd

-- The cases already on file.
SELECT stat_case_rebuild();

REVOKE ALL ON FUNCTION stat_case_rebuild() FROM PUBLIC;
GRANT SELECT ON stat_case_pairs TO amparo_app;

-- +goose Down
DROP TRIGGER children_stat_updated ON children;
DROP TRIGGER cases_stat_updated ON cases;
DROP TRIGGER cases_stat_inserted ON cases;
DROP FUNCTION stat_case_rebuild(), stat_children_updated(), stat_cases_updated(), stat_cases_inserted(),
  stat_case_dims(text, text, text, text, text, text, text, text, text);
DROP TABLE stat_case_pairs;
