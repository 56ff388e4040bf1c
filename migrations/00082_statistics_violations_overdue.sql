-- The statistics summary, extended to violations and to the overdue state
-- (internal/statistics/summary.go).
--
-- stat_case_pairs (migration 00051) gains a tenth dimension, OVERDUE
-- (OVERDUE, ON_TIME or CLOSED), and stat_violation_pairs holds, per month
-- and institution and pair of dimensions, three more units of count:
--   VIOLATION      each violation recorded in a case (its own record key),
--                  with the case's ten dimensions and VIOLATION_TYPE and
--                  VIOLATION_CATEGORY;
--   CASE_TYPE      each case once per type of violation it records (the
--                  case's key), for tables of cases by VIOLATION_TYPE;
--   CASE_CATEGORY  each case once per category (the case's key), for
--                  tables of cases by VIOLATION_CATEGORY.
-- A case without violations (filing needs one; only the statements of a
-- filing before its violations see one) is in no table by violation, as
-- in the tables counted from the cases. VIOLATION holds no case dimension
-- paired with itself: a table of violations by one case dimension sums its
-- pair with VIOLATION_TYPE.
--
-- Overdue depends on the clock, which no trigger sees move: the summary
-- classifies cases against a horizon (stat_horizon), not against now. A
-- case not closed is OVERDUE in the summary when its deadline is before the
-- horizon. stat_overdue_advance() moves the horizon forward, and with it
-- the cases whose deadline it passes, in one transaction; a query reads the
-- horizon with the summary in one snapshot and counts the few cases whose
-- deadline falls between the horizon and now from the cases themselves.
--
-- Every writer takes, before it reads what it counts, a shared lock on the
-- horizon and an exclusive lock per month and institution it touches
-- (advisory, transaction-scoped, in one order), then writes through
-- stat_apply: two writers of the same month and institution wait for each
-- other, so each reads the other's committed change (a case's violations
-- added in one transaction while another changes its status), instead of
-- deadlocking on summary rows written over several statements; and the
-- horizon never moves under a writer that classified against it.

-- +goose Up
CREATE TABLE stat_horizon (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  at       timestamptz NOT NULL
);
INSERT INTO stat_horizon (at) VALUES (now());

CREATE TABLE stat_violation_pairs (
  unit             text NOT NULL CHECK (unit IN ('VIOLATION', 'CASE_TYPE', 'CASE_CATEGORY')),
  month            date NOT NULL,
  institution_code text NOT NULL,
  dim_a            text NOT NULL,
  val_a            text NOT NULL,
  dim_b            text NOT NULL,
  val_b            text NOT NULL,
  n                bigint NOT NULL,
  k                bigint NOT NULL CHECK (k BETWEEN 0 AND 4294967295),
  PRIMARY KEY (unit, dim_a, dim_b, month, institution_code, val_a, val_b)
);

-- The dimensions, in the order of a state's values, and the pairs of them
-- the summary keeps (a before b by name; a dimension with itself).
CREATE TABLE stat_dim_pairs (
  i  int NOT NULL,
  j  int NOT NULL,
  na text NOT NULL,
  nb text NOT NULL,
  PRIMARY KEY (i, j)
);
INSERT INTO stat_dim_pairs (i, j, na, nb)
SELECT a.i, b.i, a.name, b.name
FROM unnest(ARRAY['DEPARTMENT', 'ENTRY_POINT', 'URGENCY', 'STATUS', 'AGE_BAND', 'SEX', 'NATIONALITY',
       'POPULATION_STATUS', 'CARE_STATUS', 'OVERDUE', 'VIOLATION_TYPE', 'VIOLATION_CATEGORY']) WITH ORDINALITY a(name, i),
     unnest(ARRAY['DEPARTMENT', 'ENTRY_POINT', 'URGENCY', 'STATUS', 'AGE_BAND', 'SEX', 'NATIONALITY',
       'POPULATION_STATUS', 'CARE_STATUS', 'OVERDUE', 'VIOLATION_TYPE', 'VIOLATION_CATEGORY']) WITH ORDINALITY b(name, i)
WHERE a.name <= b.name;

-- One case as the summary counts it, with a sign: +1 entering, -1 leaving.
-- dims are the ten case dimensions in the order of stat_dim_pairs; vtypes
-- and vkeys the case's violations and their keys.
CREATE TYPE stat_state AS (sign int, month date, inst text, key bigint, dims text[], vtypes text[], vkeys bigint[]);

-- +goose StatementBegin
CREATE FUNCTION stat_state_of(sign int, horizon timestamptz, created_at timestamptz, inst text, key bigint,
  dept text, ep text, urg text, status text, due_at timestamptz,
  band text, sex text, nat text, pop text, care text, vtypes text[], vkeys bigint[])
RETURNS stat_state LANGUAGE sql STABLE AS $$
  SELECT ROW(sign, date_trunc('month', created_at AT TIME ZONE 'America/Guatemala')::date, inst, key,
    ARRAY[dept, COALESCE(ep, 'UNKNOWN'), urg, status, COALESCE(band, 'UNKNOWN'), COALESCE(sex, 'UNKNOWN'),
          COALESCE(nat, 'UNKNOWN'), COALESCE(pop, 'UNKNOWN'), COALESCE(care, 'UNKNOWN'),
          CASE WHEN status = 'CLOSED' THEN 'CLOSED' WHEN due_at < horizon THEN 'OVERDUE' ELSE 'ON_TIME' END],
    COALESCE(vtypes, '{}'), COALESCE(vkeys, '{}'))::stat_state
$$;

-- stat_horizon_shared takes the writers' lock on the horizon and returns
-- it. It must run as a statement of its own before the states are built:
-- in READ COMMITTED the next statement sees a horizon moved while it waited.
CREATE FUNCTION stat_horizon_shared() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    -- A snapshot older than the lock could classify against a horizon
    -- already moved.
    RAISE EXCEPTION 'statistics summary: cases are written in READ COMMITTED transactions'
      USING ERRCODE = '0A000';
  END IF;
  PERFORM pg_advisory_xact_lock_shared(51, 0);
END
$$;

-- stat_month_key is the lock key of a month and institution.
CREATE FUNCTION stat_month_key(inst text, month date) RETURNS int LANGUAGE sql IMMUTABLE AS $$
  SELECT hashtext(inst || '/' || to_char(month, 'YYYY-MM'))
$$;

CREATE FUNCTION stat_case_key(inst text, created_at timestamptz) RETURNS int LANGUAGE sql STABLE AS $$
  SELECT stat_month_key(inst, date_trunc('month', created_at AT TIME ZONE 'America/Guatemala')::date)
$$;

-- stat_lock takes the writers' locks of months and institutions, in the
-- order of their keys, until the transaction ends. A writer takes them
-- before it reads what it counts: whoever changed the same month and
-- institution before has committed, whoever changes it next waits.
CREATE FUNCTION stat_lock(keys int[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  l int;
BEGIN
  FOR l IN SELECT DISTINCT k FROM unnest(keys) k WHERE k IS NOT NULL ORDER BY 1 LOOP
    PERFORM pg_advisory_xact_lock(52, l);
  END LOOP;
END
$$;

-- stat_apply writes states into the summary: per unit, month, institution
-- and pair of dimensions, the sum of signs and of signed keys, netted, in
-- the order of the primary keys.
CREATE FUNCTION stat_apply(states stat_state[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  IF cardinality(states) IS NULL OR cardinality(states) = 0 THEN
    RETURN;
  END IF;
  -- Held already by the writer, unless what it read moved a case to
  -- another month or institution meanwhile (a transfer).
  PERFORM stat_lock(ARRAY(SELECT stat_month_key(s.inst, s.month) FROM unnest(states) s));

  INSERT INTO stat_case_pairs AS p (month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
  SELECT s.month, s.inst, d.na, s.dims[d.i], d.nb, s.dims[d.j], sum(s.sign),
    ((sum(s.sign * s.key) % 4294967296) + 4294967296) % 4294967296
  FROM unnest(states) s, stat_dim_pairs d
  WHERE d.i <= 10 AND d.j <= 10
  GROUP BY d.na, d.nb, s.month, s.inst, s.dims[d.i], s.dims[d.j]
  HAVING sum(s.sign) <> 0 OR sum(s.sign * s.key) % 4294967296 <> 0
  ORDER BY d.na, d.nb, s.month, s.inst, s.dims[d.i], s.dims[d.j]
  ON CONFLICT (dim_a, dim_b, month, institution_code, val_a, val_b) DO UPDATE
  SET n = p.n + EXCLUDED.n, k = (p.k + EXCLUDED.k) % 4294967296;

  INSERT INTO stat_violation_pairs AS p (unit, month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
  SELECT u.unit, u.month, u.inst, d.na, u.dims[d.i], d.nb, u.dims[d.j], sum(u.sign),
    ((sum(u.sign * u.key) % 4294967296) + 4294967296) % 4294967296
  FROM (
    SELECT 'VIOLATION' AS unit, s.sign, s.month, s.inst, v.key, s.dims || ARRAY[v.type, vt.category_code] AS dims
    FROM unnest(states) s, unnest(s.vtypes, s.vkeys) v(type, key) JOIN violation_types vt ON vt.code = v.type
    UNION ALL
    SELECT 'CASE_TYPE', s.sign, s.month, s.inst, s.key, s.dims || ARRAY[t.type, vt.category_code]
    FROM unnest(states) s,
      LATERAL (SELECT DISTINCT x FROM unnest(s.vtypes) x) t(type) JOIN violation_types vt ON vt.code = t.type
    UNION ALL
    SELECT 'CASE_CATEGORY', s.sign, s.month, s.inst, s.key, s.dims || ARRAY[NULL, c.category]
    FROM unnest(states) s,
      LATERAL (SELECT DISTINCT vt.category_code FROM unnest(s.vtypes) x JOIN violation_types vt ON vt.code = x) c(category)
  ) u, stat_dim_pairs d
  WHERE CASE u.unit
    WHEN 'VIOLATION' THEN d.i <> d.j OR d.i > 10 -- a case dimension alone: summed over the types
    WHEN 'CASE_TYPE' THEN 11 IN (d.i, d.j)
    ELSE 12 IN (d.i, d.j) AND 11 NOT IN (d.i, d.j) END
  GROUP BY u.unit, d.na, d.nb, u.month, u.inst, u.dims[d.i], u.dims[d.j]
  HAVING sum(u.sign) <> 0 OR sum(u.sign * u.key) % 4294967296 <> 0
  ORDER BY u.unit, d.na, d.nb, u.month, u.inst, u.dims[d.i], u.dims[d.j]
  ON CONFLICT (unit, dim_a, dim_b, month, institution_code, val_a, val_b) DO UPDATE
  SET n = p.n + EXCLUDED.n, k = (p.k + EXCLUDED.k) % 4294967296;
END
$$;

-- The triggers: each builds the states of what its statement changed (the
-- cases as they were, -1, and as they are, +1), against the horizon read
-- after the writers' lock, and applies them. Statement-level, over the
-- transition tables: a COPY of ten thousand cases updates the summary once.
CREATE OR REPLACE FUNCTION stat_cases_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  h timestamptz;
BEGIN
  PERFORM stat_horizon_shared();
  PERFORM stat_lock(ARRAY(SELECT stat_case_key(c.institution_code, c.created_at) FROM new_cases c));
  SELECT at INTO h FROM stat_horizon;
  -- A case enters without violations, which count nowhere but in its own
  -- unit: they enter after it (they refer to it), through their own
  -- trigger, even when one statement inserts both.
  PERFORM stat_apply(ARRAY(
    SELECT stat_state_of(1, h, c.created_at, c.institution_code, c.record_key, c.department_code, c.entry_point_code,
      c.urgency, c.status, c.due_at, ch.age_band, ch.sex, ch.nationality, ch.population_status, ch.care_status, '{}', '{}')
    FROM new_cases c JOIN children ch ON ch.id = c.child_id));
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION stat_cases_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  h timestamptz;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM old_cases o JOIN new_cases c ON c.id = o.id
                 WHERE (o.created_at, o.institution_code, o.department_code, o.entry_point_code, o.urgency, o.status, o.due_at, o.child_id)
                   IS DISTINCT FROM (c.created_at, c.institution_code, c.department_code, c.entry_point_code, c.urgency, c.status, c.due_at, c.child_id)) THEN
    RETURN NULL; -- an assignment, a version: nothing the summary counts
  END IF;
  PERFORM stat_horizon_shared();
  PERFORM stat_lock(ARRAY(SELECT stat_case_key(o.institution_code, o.created_at) FROM old_cases o
                          UNION ALL SELECT stat_case_key(c.institution_code, c.created_at) FROM new_cases c));
  SELECT at INTO h FROM stat_horizon;
  PERFORM stat_apply(ARRAY(
    SELECT stat_state_of(x.sign, h, x.created_at, x.institution_code, x.record_key, x.department_code, x.entry_point_code,
      x.urgency, x.status, x.due_at, ch.age_band, ch.sex, ch.nationality, ch.population_status, ch.care_status, v.types, v.keys)
    FROM (SELECT -1 AS sign, o.* FROM old_cases o UNION ALL SELECT 1, c.* FROM new_cases c) x
      JOIN children ch ON ch.id = x.child_id,
      LATERAL (SELECT array_agg(cv.type_code ORDER BY cv.position) AS types, array_agg(cv.record_key ORDER BY cv.position) AS keys
               FROM case_violations cv WHERE cv.case_id = x.id) v));
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION stat_children_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  h timestamptz;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM old_children o JOIN new_children n ON n.id = o.id JOIN cases c ON c.child_id = n.id
                 WHERE (o.age_band, o.sex, o.nationality, o.population_status, o.care_status)
                   IS DISTINCT FROM (n.age_band, n.sex, n.nationality, n.population_status, n.care_status)) THEN
    RETURN NULL;
  END IF;
  PERFORM stat_horizon_shared();
  PERFORM stat_lock(ARRAY(SELECT stat_case_key(c.institution_code, c.created_at) FROM new_children n JOIN cases c ON c.child_id = n.id));
  SELECT at INTO h FROM stat_horizon;
  PERFORM stat_apply(ARRAY(
    SELECT stat_state_of(x.sign, h, c.created_at, c.institution_code, c.record_key, c.department_code, c.entry_point_code,
      c.urgency, c.status, c.due_at, x.age_band, x.sex, x.nationality, x.population_status, x.care_status, v.types, v.keys)
    FROM (SELECT -1 AS sign, o.* FROM old_children o UNION ALL SELECT 1, n.* FROM new_children n) x
      JOIN cases c ON c.child_id = x.id,
      LATERAL (SELECT array_agg(cv.type_code ORDER BY cv.position) AS types, array_agg(cv.record_key ORDER BY cv.position) AS keys
               FROM case_violations cv WHERE cv.case_id = c.id) v));
  RETURN NULL;
END
$$;

-- stat_violations_changed applies a change of some cases' violations:
-- each case as it was (its violations now, less those added, plus those
-- removed) leaves, as it is enters.
CREATE FUNCTION stat_violations_changed(added case_violations[], removed case_violations[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  h timestamptz;
BEGIN
  PERFORM stat_horizon_shared();
  PERFORM stat_lock(ARRAY(SELECT stat_case_key(c.institution_code, c.created_at) FROM cases c
                          WHERE c.id IN (SELECT a.case_id FROM unnest(added) a UNION SELECT r.case_id FROM unnest(removed) r)));
  SELECT at INTO h FROM stat_horizon;
  PERFORM stat_apply(ARRAY(
    SELECT stat_state_of(x.sign, h, c.created_at, c.institution_code, c.record_key, c.department_code, c.entry_point_code,
      c.urgency, c.status, c.due_at, ch.age_band, ch.sex, ch.nationality, ch.population_status, ch.care_status, x.types, x.keys)
    FROM cases c JOIN children ch ON ch.id = c.child_id,
      LATERAL (
        SELECT 1 AS sign, array_agg(cv.type_code ORDER BY cv.position) AS types, array_agg(cv.record_key ORDER BY cv.position) AS keys
        FROM case_violations cv WHERE cv.case_id = c.id
        UNION ALL
        SELECT -1, array_agg(w.type_code ORDER BY w.position), array_agg(w.record_key ORDER BY w.position)
        FROM (SELECT cv.position, cv.type_code, cv.record_key FROM case_violations cv WHERE cv.case_id = c.id
                AND (cv.case_id, cv.position) NOT IN (SELECT a.case_id, a.position FROM unnest(added) a)
              UNION ALL
              SELECT r.position, r.type_code, r.record_key FROM unnest(removed) r WHERE r.case_id = c.id) w) x
    WHERE c.id IN (SELECT a.case_id FROM unnest(added) a UNION SELECT r.case_id FROM unnest(removed) r)));
END
$$;

CREATE FUNCTION stat_violations_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  PERFORM stat_violations_changed(ARRAY(SELECT ROW(n.*)::case_violations FROM new_violations n), '{}');
  RETURN NULL;
END
$$;

CREATE FUNCTION stat_violations_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM old_violations o FULL JOIN new_violations n ON n.case_id = o.case_id AND n.position = o.position
                 WHERE o.case_id IS NULL OR n.case_id IS NULL OR o.type_code IS DISTINCT FROM n.type_code
                   OR o.record_key IS DISTINCT FROM n.record_key) THEN
    RETURN NULL; -- a description sealed: nothing the summary counts
  END IF;
  PERFORM stat_violations_changed(ARRAY(SELECT ROW(n.*)::case_violations FROM new_violations n), ARRAY(SELECT ROW(o.*)::case_violations FROM old_violations o));
  RETURN NULL;
END
$$;

CREATE FUNCTION stat_violations_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  PERFORM stat_violations_changed('{}', ARRAY(SELECT ROW(o.*)::case_violations FROM old_violations o));
  RETURN NULL;
END
$$;

-- stat_overdue_advance moves the horizon towards now, by at most window,
-- and the cases whose deadline it passes from ON_TIME to OVERDUE. It does
-- nothing (and returns NULL) while a writer holds the horizon: the next
-- call catches up. Queries are exact whatever the horizon: this only keeps
-- what they count from the cases small.
CREATE FUNCTION stat_overdue_advance(max_window interval) RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  h0 timestamptz;
  h1 timestamptz;
BEGIN
  IF NOT pg_try_advisory_xact_lock(51, 0) THEN
    RETURN NULL;
  END IF;
  SELECT at INTO h0 FROM stat_horizon;
  h1 := least(now(), h0 + max_window);
  IF h1 <= h0 THEN
    RETURN h0;
  END IF;
  PERFORM stat_apply(ARRAY(
    SELECT stat_state_of(x.sign, x.h, c.created_at, c.institution_code, c.record_key, c.department_code, c.entry_point_code,
      c.urgency, c.status, c.due_at, ch.age_band, ch.sex, ch.nationality, ch.population_status, ch.care_status, v.types, v.keys)
    FROM cases c JOIN children ch ON ch.id = c.child_id,
      (VALUES (-1, h0), (1, h1)) x(sign, h),
      LATERAL (SELECT array_agg(cv.type_code ORDER BY cv.position) AS types, array_agg(cv.record_key ORDER BY cv.position) AS keys
               FROM case_violations cv WHERE cv.case_id = c.id) v
    WHERE c.due_at >= h0 AND c.due_at < h1 AND c.status <> 'CLOSED'));
  UPDATE stat_horizon SET at = h1;
  RETURN h1;
END
$$;

-- stat_case_rebuild counts the whole summary again from the cases (after a
-- bulk load with the triggers disabled, or to check it), against the
-- horizon as it stands.
CREATE OR REPLACE FUNCTION stat_case_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  h timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock(51, 0); -- no writer, no advance meanwhile
  SELECT at INTO h FROM stat_horizon;
  DELETE FROM stat_case_pairs;
  DELETE FROM stat_violation_pairs;
  -- Every case's state once, then each unit counted from them in one
  -- grouped insert into the emptied tables: no array, no conflict to
  -- resolve (what stat_apply does for a statement's few cases).
  CREATE TEMPORARY TABLE stat_rebuild_states ON COMMIT DROP AS
  SELECT (stat_state_of(1, h, c.created_at, c.institution_code, c.record_key, c.department_code, c.entry_point_code,
      c.urgency, c.status, c.due_at, ch.age_band, ch.sex, ch.nationality, ch.population_status, ch.care_status, v.types, v.keys)).*
  FROM cases c JOIN children ch ON ch.id = c.child_id,
    LATERAL (SELECT array_agg(cv.type_code ORDER BY cv.position) AS types, array_agg(cv.record_key ORDER BY cv.position) AS keys
             FROM case_violations cv WHERE cv.case_id = c.id) v;

  INSERT INTO stat_case_pairs (month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
  SELECT s.month, s.inst, d.na, s.dims[d.i], d.nb, s.dims[d.j], count(*), sum(s.key) % 4294967296
  FROM stat_rebuild_states s, stat_dim_pairs d
  WHERE d.i <= 10 AND d.j <= 10
  GROUP BY d.na, d.nb, s.month, s.inst, s.dims[d.i], s.dims[d.j];

  INSERT INTO stat_violation_pairs (unit, month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
  SELECT 'VIOLATION', u.month, u.inst, d.na, u.dims[d.i], d.nb, u.dims[d.j], count(*), sum(u.key) % 4294967296
  FROM (SELECT s.month, s.inst, v.key, s.dims || ARRAY[v.type, vt.category_code] AS dims
        FROM stat_rebuild_states s, unnest(s.vtypes, s.vkeys) v(type, key) JOIN violation_types vt ON vt.code = v.type) u,
       stat_dim_pairs d
  WHERE d.i <> d.j OR d.i > 10
  GROUP BY d.na, d.nb, u.month, u.inst, u.dims[d.i], u.dims[d.j];

  INSERT INTO stat_violation_pairs (unit, month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
  SELECT 'CASE_TYPE', u.month, u.inst, d.na, u.dims[d.i], d.nb, u.dims[d.j], count(*), sum(u.key) % 4294967296
  FROM (SELECT s.month, s.inst, s.key, s.dims || ARRAY[t.type, vt.category_code] AS dims
        FROM stat_rebuild_states s, LATERAL (SELECT DISTINCT x FROM unnest(s.vtypes) x) t(type)
          JOIN violation_types vt ON vt.code = t.type) u,
       stat_dim_pairs d
  WHERE 11 IN (d.i, d.j)
  GROUP BY d.na, d.nb, u.month, u.inst, u.dims[d.i], u.dims[d.j];

  INSERT INTO stat_violation_pairs (unit, month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
  SELECT 'CASE_CATEGORY', u.month, u.inst, d.na, u.dims[d.i], d.nb, u.dims[d.j], count(*), sum(u.key) % 4294967296
  FROM (SELECT s.month, s.inst, s.key, s.dims || ARRAY[NULL, c.category] AS dims
        FROM stat_rebuild_states s,
          LATERAL (SELECT DISTINCT vt.category_code FROM unnest(s.vtypes) x JOIN violation_types vt ON vt.code = x) c(category)) u,
       stat_dim_pairs d
  WHERE 12 IN (d.i, d.j) AND 11 NOT IN (d.i, d.j)
  GROUP BY d.na, d.nb, u.month, u.inst, u.dims[d.i], u.dims[d.j];
END
$$;
-- +goose StatementEnd

CREATE TRIGGER case_violations_stat_inserted AFTER INSERT ON case_violations
  REFERENCING NEW TABLE AS new_violations FOR EACH STATEMENT EXECUTE FUNCTION stat_violations_inserted();
CREATE TRIGGER case_violations_stat_updated AFTER UPDATE ON case_violations
  REFERENCING OLD TABLE AS old_violations NEW TABLE AS new_violations FOR EACH STATEMENT EXECUTE FUNCTION stat_violations_updated();
CREATE TRIGGER case_violations_stat_deleted AFTER DELETE ON case_violations
  REFERENCING OLD TABLE AS old_violations FOR EACH STATEMENT EXECUTE FUNCTION stat_violations_deleted();

DROP FUNCTION stat_case_dims(text, text, text, text, text, text, text, text, text);

-- The cases already on file, with the new dimension and units.
SELECT stat_case_rebuild();

REVOKE ALL ON FUNCTION stat_apply(stat_state[]), stat_lock(int[]), stat_violations_changed(case_violations[], case_violations[]),
  stat_overdue_advance(interval), stat_case_rebuild() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION stat_overdue_advance(interval) TO amparo_app;
GRANT SELECT ON stat_violation_pairs, stat_horizon TO amparo_app;

-- +goose Down
-- The summary's triggers and functions of 00051 were replaced: going back
-- means restoring a backup taken before this migration.
-- +goose StatementBegin
DO $$ BEGIN RAISE EXCEPTION 'migration 00052 cannot be undone: restore a backup taken before it'; END $$;
-- +goose StatementEnd
