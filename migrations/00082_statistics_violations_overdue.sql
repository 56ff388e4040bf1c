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
-- summary is not built, and the worker builds it in batches by case id
-- (stat_build_step), each committed, resuming where the last committed
-- batch ended. Until it is built, tables count the records. A change to a
-- case the build has passed is applied from the queue; a change to one it
-- has not reached is dropped from the queue, since the build will read the
-- case as it is then. The worker's functions take one transaction lock, so
-- two of them never interleave, whoever calls them.
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

-- Whether the summary is built; while not, the build has counted every
-- case whose id is at most after (none when NULL).
CREATE TABLE stat_build (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  built    boolean NOT NULL,
  after    uuid
);
INSERT INTO stat_build (built) VALUES (false);

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

CREATE FUNCTION stat_state_of(sign int, id uuid, horizon timestamptz, created_at timestamptz, inst text, key bigint,
  dept text, ep text, urg text, status text, due_at timestamptz,
  band text, sex text, nat text, pop text, care text, vtypes text[], vkeys bigint[])
RETURNS stat_state LANGUAGE sql STABLE AS $$
  SELECT ROW(sign, id, date_trunc('month', created_at AT TIME ZONE 'America/Guatemala')::date, inst, key, due_at,
    ARRAY[dept, COALESCE(ep, 'UNKNOWN'), urg, status, COALESCE(band, 'UNKNOWN'), COALESCE(sex, 'UNKNOWN'),
          COALESCE(nat, 'UNKNOWN'), COALESCE(pop, 'UNKNOWN'), COALESCE(care, 'UNKNOWN'),
          CASE WHEN status = 'CLOSED' THEN 'CLOSED' WHEN due_at < horizon THEN 'OVERDUE' ELSE 'ON_TIME' END],
    COALESCE(vtypes, '{}'), COALESCE(vkeys, '{}'))::stat_state
$$;

-- stat_current is the state of each case of ids as its records are,
-- against the horizon h (sign +1); a case not on file has none.
CREATE FUNCTION stat_current(ids uuid[], h timestamptz) RETURNS SETOF stat_state
LANGUAGE sql STABLE AS $$
  SELECT s.*
  FROM cases c JOIN children ch ON ch.id = c.child_id,
    LATERAL (SELECT array_agg(cv.type_code ORDER BY cv.position) AS types, array_agg(cv.record_key ORDER BY cv.position) AS keys
             FROM case_violations cv WHERE cv.case_id = c.id) v,
    LATERAL stat_state_of(1, c.id, h, c.created_at, c.institution_code, c.record_key, c.department_code, c.entry_point_code,
      c.urgency, c.status, c.due_at, ch.age_band, ch.sex, ch.nationality, ch.population_status, ch.care_status, v.types, v.keys) s
  WHERE c.id = ANY(ids)
$$;

-- stat_last is what each case of ids last contributed (sign -1).
CREATE FUNCTION stat_last(ids uuid[]) RETURNS SETOF stat_state
LANGUAGE sql STABLE AS $$
  SELECT -1, a.case_id, a.month, a.inst, a.key, a.due_at, a.dims, a.vtypes, a.vkeys
  FROM stat_applied a WHERE a.case_id = ANY(ids)
$$;

-- stat_rows is what states contribute to the summary, one row per state,
-- unit and pair of dimensions (unit CASE: stat_case_pairs), signed and
-- not yet summed; only the unit and pair asked for, when asked.
CREATE FUNCTION stat_rows(states stat_state[], only_unit text, only_a text, only_b text)
RETURNS TABLE (unit text, month date, inst text, dim_a text, val_a text, dim_b text, val_b text, n int, k bigint)
LANGUAGE sql STABLE AS $$
  SELECT u.unit, u.month, u.inst, d.na, u.dims[d.i], d.nb, u.dims[d.j], u.sign, u.sign * u.key
  FROM (
    SELECT 'CASE' AS unit, s.sign, s.month, s.inst, s.key, s.dims
    FROM unnest(states) s
    WHERE only_unit IS NULL OR only_unit = 'CASE'
    UNION ALL
    SELECT 'VIOLATION', s.sign, s.month, s.inst, v.key, s.dims || ARRAY[v.type, vt.category_code]
    FROM unnest(states) s, unnest(s.vtypes, s.vkeys) v(type, key) JOIN violation_types vt ON vt.code = v.type
    WHERE only_unit IS NULL OR only_unit = 'VIOLATION'
    UNION ALL
    SELECT 'CASE_TYPE', s.sign, s.month, s.inst, s.key, s.dims || ARRAY[t.type, vt.category_code]
    FROM unnest(states) s,
      LATERAL (SELECT DISTINCT x FROM unnest(s.vtypes) x) t(type) JOIN violation_types vt ON vt.code = t.type
    WHERE only_unit IS NULL OR only_unit = 'CASE_TYPE'
    UNION ALL
    SELECT 'CASE_CATEGORY', s.sign, s.month, s.inst, s.key, s.dims || ARRAY[NULL, c.category]
    FROM unnest(states) s,
      LATERAL (SELECT DISTINCT vt.category_code FROM unnest(s.vtypes) x JOIN violation_types vt ON vt.code = x) c(category)
    WHERE only_unit IS NULL OR only_unit = 'CASE_CATEGORY'
  ) u, stat_dim_pairs d
  WHERE CASE u.unit
    WHEN 'CASE' THEN d.i <= 10 AND d.j <= 10
    WHEN 'VIOLATION' THEN d.i <> d.j OR d.i > 10 -- a case dimension alone: summed over the types
    WHEN 'CASE_TYPE' THEN 11 IN (d.i, d.j)
    ELSE 12 IN (d.i, d.j) AND 11 NOT IN (d.i, d.j) END
    AND (only_a IS NULL OR (d.na = only_a AND d.nb = only_b))
$$;

-- stat_apply adds states to the summary: per unit, month, institution and
-- pair of dimensions, the sum of signs and of signed keys, netted, in the
-- order of the primary keys. Only the worker writes the summary.
CREATE FUNCTION stat_apply(states stat_state[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF cardinality(states) IS NULL OR cardinality(states) = 0 THEN
    RETURN;
  END IF;
  WITH r AS MATERIALIZED (SELECT * FROM stat_rows(states, NULL, NULL, NULL)),
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

-- stat_sync brings the cases of ids up to date in the summary: what each
-- last contributed out, what its records contribute now in, and
-- stat_applied rewritten. Runs in READ COMMITTED: the records are read
-- after the caller read the queue, so a change the caller saw is in them.
CREATE FUNCTION stat_sync(ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  h timestamptz;
  now_states stat_state[];
BEGIN
  IF cardinality(ids) IS NULL OR cardinality(ids) = 0 THEN
    RETURN;
  END IF;
  SELECT at INTO h FROM stat_horizon;
  now_states := ARRAY(SELECT s FROM stat_current(ids, h) s);
  PERFORM stat_apply(ARRAY(SELECT s FROM stat_last(ids) s) || now_states);
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
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
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
  IF NOT b.built THEN
    ids := ARRAY(SELECT x FROM unnest(ids) x WHERE x <= b.after);
  END IF;
  PERFORM stat_sync(ids);
  DELETE FROM stat_changes WHERE seq = ANY(seqs);
  RETURN cardinality(seqs);
END
$$;

-- stat_build_step counts the next n cases by id into the summary and
-- returns whether the summary is built (the step found fewer than n).
CREATE FUNCTION stat_build_step(n int) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  b stat_build;
  ids uuid[];
BEGIN
  PERFORM stat_worker_lock();
  SELECT * INTO b FROM stat_build;
  IF b.built THEN
    RETURN true;
  END IF;
  ids := ARRAY(SELECT c.id FROM cases c WHERE b.after IS NULL OR c.id > b.after ORDER BY c.id LIMIT n);
  PERFORM stat_sync(ids);
  UPDATE stat_build SET built = cardinality(ids) < n, after = COALESCE(ids[cardinality(ids)], after);
  RETURN cardinality(ids) < n;
END
$$;

-- stat_overdue_advance moves the horizon towards now, by at most
-- max_window, and the applied cases whose deadline it passes from ON_TIME
-- to OVERDUE, and returns the new horizon. Queries are exact whatever the
-- horizon: this only keeps what they count from the records small.
CREATE FUNCTION stat_overdue_advance(max_window interval) RETURNS timestamptz
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
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
    FROM unnest(passed) s));
  UPDATE stat_applied a SET dims[10] = 'OVERDUE' WHERE a.case_id IN (SELECT s.id FROM unnest(passed) s);
  UPDATE stat_horizon SET at = h1;
  RETURN h1;
END
$$;

-- stat_pending is what the cases in the queue would change in the
-- summary's rows of one unit and pair: their current contribution, less
-- the one applied. A table read adds it to the summary in the same
-- snapshot. Its cost grows with the queue, one row per queued case (per
-- violation or type for the violation units).
CREATE FUNCTION stat_pending(only_unit text, only_a text, only_b text)
RETURNS TABLE (month date, institution_code text, val_a text, val_b text, n int, k bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  WITH q AS (SELECT ARRAY(SELECT DISTINCT case_id FROM stat_changes) AS ids)
  SELECT r.month, r.inst, r.val_a, r.val_b, r.n, r.k
  FROM q, stat_rows(ARRAY(SELECT s FROM stat_last(q.ids) s)
                   || ARRAY(SELECT s FROM stat_current(q.ids, (SELECT at FROM stat_horizon)) s), only_unit, only_a, only_b) r
$$;

-- stat_rebuild empties the summary and marks it not built: the worker
-- counts it again from the cases (after a bulk load with the triggers
-- disabled, or to check it).
CREATE FUNCTION stat_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
  PERFORM stat_worker_lock();
  UPDATE stat_build SET built = false, after = NULL;
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

REVOKE ALL ON FUNCTION stat_apply(stat_state[]), stat_sync(uuid[]), stat_worker_lock(), stat_drain(int), stat_build_step(int),
  stat_overdue_advance(interval), stat_pending(text, text, text), stat_rebuild(),
  stat_current(uuid[], timestamptz), stat_last(uuid[]) FROM PUBLIC;
-- The worker runs as the application, through these only: it may bring the
-- summary up to date with the records, never write a figure of its own.
GRANT EXECUTE ON FUNCTION stat_drain(int), stat_build_step(int), stat_overdue_advance(interval), stat_pending(text, text, text)
  TO amparo_app;
GRANT SELECT ON stat_violation_pairs, stat_horizon, stat_build TO amparo_app;

-- +goose Down
-- The summary's triggers and functions of 00051 were replaced: going back
-- means restoring a backup taken before this migration.
-- +goose StatementBegin
DO $$ BEGIN RAISE EXCEPTION 'migration 00082 cannot be undone: restore a backup taken before it'; END $$;
-- +goose StatementEnd
