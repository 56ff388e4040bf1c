-- The statistics summary, extended to violations and to the overdue state,
-- and kept outside the transactions that write cases
-- (internal/statistics/summary.go, keeper.go).
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
-- A case without violations is in no table by violation, as in the tables
-- counted from the cases. VIOLATION holds no case dimension paired with
-- itself: a table of violations by one case dimension sums its pair with
-- VIOLATION_TYPE.
--
-- Writers take no lock for it. A trigger only records which case changed,
-- in stat_changes (insert-only: no shared row is read or rewritten in the
-- writer's transaction). One worker, the leader among replicas, applies
-- the queue in batches, each in a transaction of its own (stat_drain): for
-- every changed case it takes away what the case last contributed (kept
-- per case in stat_applied) and adds what it contributes now, then deletes
-- the queue rows it applied. In every snapshot, therefore, the summary is
-- the sum of stat_applied, and a case whose records differ from its
-- stat_applied row has a row in stat_changes (its change committed with
-- it). A table read adds, for the cases in the queue, their current
-- contribution less the applied one (stat_pending): exact at the moment of
-- the read's snapshot, whatever the worker has reached.
--
-- The migration does not count the cases on file: stat_build says the
-- summary is not built, and the worker builds it in batches, each
-- committed, each resuming where the last committed one ended: first the
-- state of every case into stat_applied, by case id; then the summary from
-- stat_applied, one slice (a unit and pair of dimensions) at a time, each
-- slice one grouped insert rather than a hundred thousand upserts. Until it
-- is built, tables count the records. A change to a case the first phase
-- has passed is applied from the queue, to stat_applied and to the slices
-- already summed; a change to a case it has not reached is dropped from the
-- queue, since the build reads the case as it is then. The worker's
-- functions take one transaction lock, so two of them never interleave,
-- whoever calls them.
--
-- Overdue depends on the clock, which no trigger sees move: the summary
-- classifies cases against a horizon (stat_horizon), not against now. A
-- case not closed is OVERDUE in the summary when its deadline is before the
-- horizon. stat_overdue_advance() moves the horizon forward, and with it
-- the applied cases whose deadline it passes, in one transaction; a query
-- counts the few cases whose deadline falls between the horizon and now
-- from the records.

-- +goose Up
DROP TRIGGER children_stat_updated ON children;
DROP TRIGGER cases_stat_updated ON cases;
DROP TRIGGER cases_stat_inserted ON cases;
DROP FUNCTION stat_case_rebuild(), stat_children_updated(), stat_cases_updated(), stat_cases_inserted(),
  stat_case_dims(text, text, text, text, text, text, text, text, text);
-- Counted again by the worker, with OVERDUE.
TRUNCATE stat_case_pairs;

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

-- The worker rewrites counts in place: room left on each page keeps the
-- updates HOT (no new index entry).
ALTER TABLE stat_case_pairs SET (fillfactor = 50);
ALTER TABLE stat_violation_pairs SET (fillfactor = 50);

-- The queue of changed cases. Insert-only for writers; the worker deletes
-- what it applied.
CREATE TABLE stat_changes (
  seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id uuid NOT NULL
);

-- What each case last contributed to the summary (its state, as
-- stat_state without the sign), and its deadline, for the horizon.
CREATE TABLE stat_applied (
  case_id uuid PRIMARY KEY,
  month   date NOT NULL,
  inst    text NOT NULL,
  key     bigint NOT NULL,
  due_at  timestamptz,
  dims    text[] NOT NULL,
  vtypes  text[] NOT NULL,
  vkeys   bigint[] NOT NULL
);
CREATE INDEX stat_applied_on_time ON stat_applied (due_at) WHERE dims[10] = 'ON_TIME';

-- How far the build has gone: every case whose id is at most after has
-- its state in stat_applied (none when after is NULL, all once counted),
-- and the summary's first slices slices are summed from stat_applied;
-- built once all are.
CREATE TABLE stat_build (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  after    uuid,
  counted  boolean NOT NULL DEFAULT false,
  slices   int NOT NULL DEFAULT 0,
  built    boolean NOT NULL DEFAULT false
);
INSERT INTO stat_build DEFAULT VALUES;

-- The summary's slices: each unit with the pairs of dimensions it keeps (a
-- before b by name; a dimension with itself), the dimensions numbered as
-- in a state's values. CASE pairs the ten case dimensions; VIOLATION holds
-- no case dimension with itself (a table of violations by one case
-- dimension sums its pair with VIOLATION_TYPE); CASE_TYPE the pairs with
-- the type; CASE_CATEGORY those with the category but not the type.
CREATE TABLE stat_slices (
  slice int PRIMARY KEY,
  unit  text NOT NULL,
  i     int NOT NULL,
  j     int NOT NULL,
  na    text NOT NULL,
  nb    text NOT NULL,
  UNIQUE (unit, na, nb)
);
INSERT INTO stat_slices (slice, unit, i, j, na, nb)
SELECT row_number() OVER (ORDER BY u.o, a.name, b.name), u.unit, a.i, b.i, a.name, b.name
FROM (VALUES (1, 'CASE'), (2, 'VIOLATION'), (3, 'CASE_TYPE'), (4, 'CASE_CATEGORY')) u(o, unit),
     unnest(ARRAY['DEPARTMENT', 'ENTRY_POINT', 'URGENCY', 'STATUS', 'AGE_BAND', 'SEX', 'NATIONALITY',
       'POPULATION_STATUS', 'CARE_STATUS', 'OVERDUE', 'VIOLATION_TYPE', 'VIOLATION_CATEGORY']) WITH ORDINALITY a(name, i),
     unnest(ARRAY['DEPARTMENT', 'ENTRY_POINT', 'URGENCY', 'STATUS', 'AGE_BAND', 'SEX', 'NATIONALITY',
       'POPULATION_STATUS', 'CARE_STATUS', 'OVERDUE', 'VIOLATION_TYPE', 'VIOLATION_CATEGORY']) WITH ORDINALITY b(name, i)
WHERE a.name <= b.name AND CASE u.unit
  WHEN 'CASE' THEN a.i <= 10 AND b.i <= 10
  WHEN 'VIOLATION' THEN a.i <> b.i OR a.i > 10
  WHEN 'CASE_TYPE' THEN 11 IN (a.i, b.i)
  ELSE 12 IN (a.i, b.i) AND 11 NOT IN (a.i, b.i) END;

-- One case as the summary counts it, with a sign: +1 entering, -1 leaving.
-- dims are the ten case dimensions (DEPARTMENT, ENTRY_POINT, URGENCY,
-- STATUS, AGE_BAND, SEX, NATIONALITY, POPULATION_STATUS, CARE_STATUS,
-- OVERDUE); vtypes and vkeys the case's violations and their keys.
CREATE TYPE stat_state AS (sign int, id uuid, month date, inst text, key bigint, due_at timestamptz,
  dims text[], vtypes text[], vkeys bigint[]);

-- +goose StatementBegin
-- The triggers record which cases changed what the summary counts; an
-- assignment, a version or a sealed text changes nothing it counts.
CREATE FUNCTION stat_cases_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  INSERT INTO stat_changes (case_id) SELECT c.id FROM new_cases c;
  RETURN NULL;
END
$$;

CREATE FUNCTION stat_cases_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  INSERT INTO stat_changes (case_id)
  SELECT c.id FROM old_cases o JOIN new_cases c ON c.id = o.id
  WHERE (o.created_at, o.institution_code, o.department_code, o.entry_point_code, o.urgency, o.status, o.due_at, o.child_id, o.record_key)
    IS DISTINCT FROM (c.created_at, c.institution_code, c.department_code, c.entry_point_code, c.urgency, c.status, c.due_at, c.child_id, c.record_key);
  RETURN NULL;
END
$$;

CREATE FUNCTION stat_children_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  INSERT INTO stat_changes (case_id)
  SELECT c.id FROM old_children o JOIN new_children n ON n.id = o.id JOIN cases c ON c.child_id = n.id
  WHERE (o.age_band, o.sex, o.nationality, o.population_status, o.care_status)
    IS DISTINCT FROM (n.age_band, n.sex, n.nationality, n.population_status, n.care_status);
  RETURN NULL;
END
$$;

CREATE FUNCTION stat_violations_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  INSERT INTO stat_changes (case_id) SELECT DISTINCT n.case_id FROM new_violations n;
  RETURN NULL;
END
$$;

CREATE FUNCTION stat_violations_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  INSERT INTO stat_changes (case_id)
  SELECT DISTINCT COALESCE(n.case_id, o.case_id)
  FROM old_violations o FULL JOIN new_violations n ON n.case_id = o.case_id AND n.position = o.position
  WHERE o.case_id IS NULL OR n.case_id IS NULL OR o.type_code IS DISTINCT FROM n.type_code
    OR o.record_key IS DISTINCT FROM n.record_key;
  RETURN NULL;
END
$$;

CREATE FUNCTION stat_violations_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  INSERT INTO stat_changes (case_id) SELECT DISTINCT o.case_id FROM old_violations o;
  RETURN NULL;
END
$$;

-- stat_current is the state of each case of ids as its records are,
-- against the horizon h (sign +1); a case not on file has none.
CREATE FUNCTION stat_current(ids uuid[], h timestamptz) RETURNS SETOF stat_state
LANGUAGE sql STABLE AS $$
  SELECT 1, c.id, date_trunc('month', c.created_at AT TIME ZONE 'America/Guatemala')::date, c.institution_code, c.record_key, c.due_at,
    ARRAY[c.department_code, COALESCE(c.entry_point_code, 'UNKNOWN'), c.urgency, c.status, COALESCE(ch.age_band, 'UNKNOWN'),
          COALESCE(ch.sex, 'UNKNOWN'), COALESCE(ch.nationality, 'UNKNOWN'), COALESCE(ch.population_status, 'UNKNOWN'),
          COALESCE(ch.care_status, 'UNKNOWN'),
          CASE WHEN c.status = 'CLOSED' THEN 'CLOSED' WHEN c.due_at < h THEN 'OVERDUE' ELSE 'ON_TIME' END],
    COALESCE(v.types, '{}'), COALESCE(v.keys, '{}')
  FROM cases c JOIN children ch ON ch.id = c.child_id,
    LATERAL (SELECT array_agg(cv.type_code ORDER BY cv.position) AS types, array_agg(cv.record_key ORDER BY cv.position) AS keys
             FROM case_violations cv WHERE cv.case_id = c.id) v
  WHERE c.id = ANY(ids)
$$;

-- stat_last is what each case of ids last contributed (sign -1).
CREATE FUNCTION stat_last(ids uuid[]) RETURNS SETOF stat_state
LANGUAGE sql STABLE AS $$
  SELECT -1, a.case_id, a.month, a.inst, a.key, a.due_at, a.dims, a.vtypes, a.vkeys
  FROM stat_applied a WHERE a.case_id = ANY(ids)
$$;

-- stat_units is what one state (its key, dimensions and violations)
-- counts in each unit: the case itself (CASE), each of its violations with
-- its own key and type and category appended to the dimensions
-- (VIOLATION), the case once per type (CASE_TYPE) and once per category
-- (CASE_CATEGORY). Its arguments are the state's fields, not the state:
-- PostgreSQL inlines it then.
CREATE FUNCTION stat_units(case_key bigint, case_dims text[], types text[], type_keys bigint[])
RETURNS TABLE (unit text, key bigint, dims text[])
LANGUAGE sql STABLE AS $$
  SELECT 'CASE', $1, $2
  UNION ALL
  SELECT 'VIOLATION', v.key, $2 || ARRAY[v.type, vt.category_code]
  FROM unnest($3, $4) v(type, key) JOIN violation_types vt ON vt.code = v.type
  UNION ALL
  SELECT 'CASE_TYPE', $1, $2 || ARRAY[vt.code, vt.category_code]
  FROM violation_types vt WHERE vt.code = ANY($3)
  UNION ALL
  SELECT 'CASE_CATEGORY', $1, $2 || ARRAY[NULL, c.category]
  FROM (SELECT DISTINCT vt.category_code FROM violation_types vt WHERE vt.code = ANY($3)) c(category)
$$;

-- stat_rows is what states contribute to the summary's slices up to upto
-- (only to slice just, when given): one row per state, slice and value,
-- signed, not yet summed.
CREATE FUNCTION stat_rows(states stat_state[], upto int, just int)
RETURNS TABLE (slice int, unit text, month date, inst text, dim_a text, val_a text, dim_b text, val_b text, n int, k bigint)
LANGUAGE sql STABLE AS $$
  WITH u AS MATERIALIZED (SELECT s.sign, s.month, s.inst, u.* FROM unnest(states) s, LATERAL stat_units(s.key, s.dims, s.vtypes, s.vkeys) u)
  SELECT x.slice, u.unit, u.month, u.inst, x.na, u.dims[x.i], x.nb, u.dims[x.j], u.sign, u.sign * u.key
  FROM u JOIN stat_slices x ON x.unit = u.unit
  WHERE x.slice <= upto AND (just IS NULL OR x.slice = just)
$$;

-- stat_apply adds states to the summary's slices up to upto: per unit,
-- month, institution and pair of dimensions, the sum of signs and of
-- signed keys, netted, in the order of the primary keys. Only the worker
-- writes the summary.
CREATE FUNCTION stat_apply(states stat_state[], upto int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF upto = 0 OR cardinality(states) IS NULL OR cardinality(states) = 0 THEN
    RETURN;
  END IF;
  WITH r AS MATERIALIZED (SELECT * FROM stat_rows(states, upto, NULL)),
  case_rows AS (
    INSERT INTO stat_case_pairs AS p (month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
    SELECT r.month, r.inst, r.dim_a, r.val_a, r.dim_b, r.val_b, sum(r.n), ((sum(r.k) % 4294967296) + 4294967296) % 4294967296
    FROM r WHERE r.unit = 'CASE'
    GROUP BY r.dim_a, r.dim_b, r.month, r.inst, r.val_a, r.val_b
    HAVING sum(r.n) <> 0 OR sum(r.k) % 4294967296 <> 0
    ORDER BY r.dim_a, r.dim_b, r.month, r.inst, r.val_a, r.val_b
    ON CONFLICT (dim_a, dim_b, month, institution_code, val_a, val_b) DO UPDATE
    SET n = p.n + EXCLUDED.n, k = (p.k + EXCLUDED.k) % 4294967296)
  INSERT INTO stat_violation_pairs AS p (unit, month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
  SELECT r.unit, r.month, r.inst, r.dim_a, r.val_a, r.dim_b, r.val_b, sum(r.n), ((sum(r.k) % 4294967296) + 4294967296) % 4294967296
  FROM r WHERE r.unit <> 'CASE'
  GROUP BY r.unit, r.dim_a, r.dim_b, r.month, r.inst, r.val_a, r.val_b
  HAVING sum(r.n) <> 0 OR sum(r.k) % 4294967296 <> 0
  ORDER BY r.unit, r.dim_a, r.dim_b, r.month, r.inst, r.val_a, r.val_b
  ON CONFLICT (unit, dim_a, dim_b, month, institution_code, val_a, val_b) DO UPDATE
  SET n = p.n + EXCLUDED.n, k = (p.k + EXCLUDED.k) % 4294967296;
END
$$;

-- stat_sync brings the cases of ids up to date: what each last
-- contributed out of the slices up to upto, what its records contribute
-- now in, and stat_applied rewritten. Runs in READ COMMITTED: the records
-- are read after the caller read the queue, so a change the caller saw is
-- in them.
CREATE FUNCTION stat_sync(ids uuid[], upto int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  h timestamptz;
  now_states stat_state[];
BEGIN
  IF cardinality(ids) IS NULL OR cardinality(ids) = 0 THEN
    RETURN;
  END IF;
  SELECT at INTO h FROM stat_horizon;
  -- Only the cases whose state changed since it was applied (a filing is
  -- queued by its case and by its violations; a bulk load's cases are
  -- queued and then built).
  ids := ARRAY(
    SELECT d.id FROM (
      (SELECT s.id, s.month, s.inst, s.key, s.due_at, s.dims, s.vtypes, s.vkeys FROM stat_current(ids, h) s
       EXCEPT SELECT s.id, s.month, s.inst, s.key, s.due_at, s.dims, s.vtypes, s.vkeys FROM stat_last(ids) s)
      UNION
      (SELECT s.id, s.month, s.inst, s.key, s.due_at, s.dims, s.vtypes, s.vkeys FROM stat_last(ids) s
       EXCEPT SELECT s.id, s.month, s.inst, s.key, s.due_at, s.dims, s.vtypes, s.vkeys FROM stat_current(ids, h) s)) d);
  IF cardinality(ids) = 0 THEN
    RETURN;
  END IF;
  now_states := ARRAY(SELECT s FROM stat_current(ids, h) s);
  PERFORM stat_apply(ARRAY(SELECT s FROM stat_last(ids) s) || now_states, upto);
  DELETE FROM stat_applied a WHERE a.case_id = ANY(ids) AND a.case_id NOT IN (SELECT s.id FROM unnest(now_states) s);
  INSERT INTO stat_applied AS a (case_id, month, inst, key, due_at, dims, vtypes, vkeys)
  SELECT s.id, s.month, s.inst, s.key, s.due_at, s.dims, s.vtypes, s.vkeys FROM unnest(now_states) s
  ON CONFLICT (case_id) DO UPDATE
  SET month = EXCLUDED.month, inst = EXCLUDED.inst, key = EXCLUDED.key, due_at = EXCLUDED.due_at,
      dims = EXCLUDED.dims, vtypes = EXCLUDED.vtypes, vkeys = EXCLUDED.vkeys;
END
$$;

-- stat_worker_lock keeps the worker's transactions apart: a drain, a build
-- step and an advance never interleave, even from two workers.
CREATE FUNCTION stat_worker_lock() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    -- Every statement after the lock must see what the last worker
    -- transaction committed.
    RAISE EXCEPTION 'statistics summary: the worker runs in READ COMMITTED' USING ERRCODE = '0A000';
  END IF;
  PERFORM pg_advisory_xact_lock(52, 1);
END
$$;

-- stat_drain applies up to n rows of the queue, oldest first, and deletes
-- them; it returns how many it took. Cases the build has not reached are
-- left to it.
CREATE FUNCTION stat_drain(n int) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET jit = off SET work_mem = '64MB' AS $$
DECLARE
  b stat_build;
  seqs bigint[];
  ids uuid[];
BEGIN
  PERFORM stat_worker_lock();
  SELECT * INTO b FROM stat_build;
  SELECT array_agg(q.seq), array_agg(DISTINCT q.case_id) INTO seqs, ids
  FROM (SELECT seq, case_id FROM stat_changes ORDER BY seq LIMIT n) q;
  IF seqs IS NULL THEN
    RETURN 0;
  END IF;
  IF NOT b.counted THEN
    ids := ARRAY(SELECT x FROM unnest(ids) x WHERE x <= b.after);
  END IF;
  PERFORM stat_sync(ids, b.slices);
  DELETE FROM stat_changes WHERE seq = ANY(seqs);
  RETURN cardinality(seqs);
END
$$;

-- stat_build_step takes the build one batch further and returns whether
-- the summary is built: the states of the next n cases by id into
-- stat_applied, or, once every case is there, the next slice of the
-- summary summed from stat_applied.
CREATE FUNCTION stat_build_step(n int) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET jit = off SET work_mem = '64MB' AS $$
DECLARE
  b stat_build;
  ids uuid[];
  x stat_slices;
BEGIN
  PERFORM stat_worker_lock();
  SELECT * INTO b FROM stat_build;
  IF b.built THEN
    RETURN true;
  END IF;
  IF NOT b.counted THEN
    ids := ARRAY(SELECT c.id FROM cases c WHERE b.after IS NULL OR c.id > b.after ORDER BY c.id LIMIT n);
    PERFORM stat_sync(ids, 0);
    UPDATE stat_build SET counted = cardinality(ids) < n, after = COALESCE(ids[cardinality(ids)], after);
    RETURN false;
  END IF;
  SELECT * INTO x FROM stat_slices WHERE slice = b.slices + 1;
  IF x.unit = 'CASE' THEN
    DELETE FROM stat_case_pairs WHERE dim_a = x.na AND dim_b = x.nb;
    INSERT INTO stat_case_pairs (month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
    SELECT a.month, a.inst, x.na, u.dims[x.i], x.nb, u.dims[x.j], count(*), sum(u.key) % 4294967296
    FROM stat_applied a, LATERAL stat_units(a.key, a.dims, a.vtypes, a.vkeys) u
    WHERE u.unit = x.unit
    GROUP BY a.month, a.inst, u.dims[x.i], u.dims[x.j];
  ELSE
    DELETE FROM stat_violation_pairs WHERE unit = x.unit AND dim_a = x.na AND dim_b = x.nb;
    INSERT INTO stat_violation_pairs (unit, month, institution_code, dim_a, val_a, dim_b, val_b, n, k)
    SELECT x.unit, a.month, a.inst, x.na, u.dims[x.i], x.nb, u.dims[x.j], count(*), sum(u.key) % 4294967296
    FROM stat_applied a, LATERAL stat_units(a.key, a.dims, a.vtypes, a.vkeys) u
    WHERE u.unit = x.unit
    GROUP BY a.month, a.inst, u.dims[x.i], u.dims[x.j];
  END IF;
  UPDATE stat_build SET slices = x.slice, built = NOT EXISTS (SELECT 1 FROM stat_slices WHERE slice > x.slice);
  RETURN NOT EXISTS (SELECT 1 FROM stat_slices WHERE slice > x.slice);
END
$$;

-- stat_overdue_advance moves the horizon towards now, by at most
-- max_window, and the applied cases whose deadline it passes from ON_TIME
-- to OVERDUE, and returns the new horizon. Queries are exact whatever the
-- horizon: this only keeps what they count from the records small.
CREATE FUNCTION stat_overdue_advance(max_window interval) RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET jit = off AS $$
DECLARE
  h0 timestamptz;
  h1 timestamptz;
  passed stat_state[];
BEGIN
  PERFORM stat_worker_lock();
  SELECT at INTO h0 FROM stat_horizon;
  h1 := least(now(), h0 + max_window);
  IF h1 <= h0 THEN
    RETURN h0;
  END IF;
  passed := ARRAY(SELECT s FROM stat_last(ARRAY(
    SELECT a.case_id FROM stat_applied a WHERE a.dims[10] = 'ON_TIME' AND a.due_at >= h0 AND a.due_at < h1)) s);
  PERFORM stat_apply(passed || ARRAY(
    SELECT ROW(1, s.id, s.month, s.inst, s.key, s.due_at, s.dims[1:9] || ARRAY['OVERDUE'], s.vtypes, s.vkeys)::stat_state
    FROM unnest(passed) s), (SELECT slices FROM stat_build));
  UPDATE stat_applied a SET dims[10] = 'OVERDUE' WHERE a.case_id IN (SELECT s.id FROM unnest(passed) s);
  UPDATE stat_horizon SET at = h1;
  RETURN h1;
END
$$;

-- stat_pending is what the cases in the queue change in the summary's
-- rows of one unit and pair: their current contribution, less the one
-- applied. A table read adds it to the summary in the same snapshot. Its
-- cost grows with the queue: every queued case's records are read, and
-- each gives a row or two.
CREATE FUNCTION stat_pending(only_unit text, only_a text, only_b text)
RETURNS TABLE (month date, institution_code text, val_a text, val_b text, n int, k bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public SET jit = off AS $$
  WITH q AS (SELECT ARRAY(SELECT DISTINCT case_id FROM stat_changes) AS ids),
  x AS (SELECT slice FROM stat_slices WHERE unit = only_unit AND na = only_a AND nb = only_b)
  SELECT r.month, r.inst, r.val_a, r.val_b, r.n, r.k
  FROM q, x, stat_rows(ARRAY(SELECT s FROM stat_last(q.ids) s)
                       || ARRAY(SELECT s FROM stat_current(q.ids, (SELECT at FROM stat_horizon)) s), x.slice, x.slice) r
$$;

-- stat_rebuild empties the summary and marks it not built: the worker
-- counts it again from the cases (after a bulk load with the triggers
-- disabled, or to check it).
CREATE FUNCTION stat_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  PERFORM stat_worker_lock();
  UPDATE stat_build SET after = NULL, counted = false, slices = 0, built = false;
  TRUNCATE stat_case_pairs, stat_violation_pairs, stat_applied;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER cases_stat_inserted AFTER INSERT ON cases
  REFERENCING NEW TABLE AS new_cases FOR EACH STATEMENT EXECUTE FUNCTION stat_cases_inserted();
CREATE TRIGGER cases_stat_updated AFTER UPDATE ON cases
  REFERENCING OLD TABLE AS old_cases NEW TABLE AS new_cases FOR EACH STATEMENT EXECUTE FUNCTION stat_cases_updated();
CREATE TRIGGER children_stat_updated AFTER UPDATE ON children
  REFERENCING OLD TABLE AS old_children NEW TABLE AS new_children FOR EACH STATEMENT EXECUTE FUNCTION stat_children_updated();
CREATE TRIGGER case_violations_stat_inserted AFTER INSERT ON case_violations
  REFERENCING NEW TABLE AS new_violations FOR EACH STATEMENT EXECUTE FUNCTION stat_violations_inserted();
CREATE TRIGGER case_violations_stat_updated AFTER UPDATE ON case_violations
  REFERENCING OLD TABLE AS old_violations NEW TABLE AS new_violations FOR EACH STATEMENT EXECUTE FUNCTION stat_violations_updated();
CREATE TRIGGER case_violations_stat_deleted AFTER DELETE ON case_violations
  REFERENCING OLD TABLE AS old_violations FOR EACH STATEMENT EXECUTE FUNCTION stat_violations_deleted();

REVOKE ALL ON FUNCTION stat_apply(stat_state[], int), stat_sync(uuid[], int), stat_worker_lock(), stat_drain(int), stat_build_step(int),
  stat_overdue_advance(interval), stat_pending(text, text, text), stat_rebuild(),
  stat_current(uuid[], timestamptz), stat_last(uuid[]), stat_units(bigint, text[], text[], bigint[]), stat_rows(stat_state[], int, int) FROM PUBLIC;
-- The worker runs as the application, through these only: it may bring the
-- summary up to date with the records, never write a figure of its own.
GRANT EXECUTE ON FUNCTION stat_drain(int), stat_build_step(int), stat_overdue_advance(interval), stat_pending(text, text, text)
  TO amparo_app;
GRANT SELECT ON stat_violation_pairs, stat_horizon, stat_build, stat_slices TO amparo_app;

-- +goose Down
-- The summary's triggers and functions of 00051 were replaced: going back
-- means restoring a backup taken before this migration.
-- +goose StatementBegin
DO $$ BEGIN RAISE EXCEPTION 'migration 00082 cannot be undone: restore a backup taken before it'; END $$;
-- +goose StatementEnd
