-- The application role can no longer rewrite the authorization rules.
--
-- amparo_app held INSERT and DELETE on authz_rules so that each server could
-- write policies/policy.csv there at start: whoever took over the role could
-- grant any role anything, silently. Now the rules change only through
-- authz_sync_rules, a SECURITY DEFINER function that replaces them with the
-- set it is given, under a lock, and writes one audit event of what changed
-- (counts and the SHA-256 of the new set; nothing when nothing changed) in
-- the same transaction. amparo_app may call it (start-up does, with the
-- policy embedded in the binary) and may read the rules; it may not write
-- them any other way.

-- +goose Up
REVOKE INSERT, DELETE, UPDATE ON authz_rules FROM amparo_app;

-- +goose StatementBegin
CREATE FUNCTION authz_sync_rules(rules jsonb) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
  added   integer;
  removed integer;
BEGIN
  IF jsonb_typeof(rules) <> 'array' OR EXISTS (
    SELECT FROM jsonb_array_elements(rules) r
    WHERE jsonb_typeof(r) <> 'array' OR jsonb_array_length(r) NOT BETWEEN 4 AND 5 OR r->>0 <> 'p'
  ) THEN
    RAISE EXCEPTION 'authz_sync_rules: rules must be an array of [p, role, permission, domain(, effect)]'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  LOCK TABLE public.authz_rules IN EXCLUSIVE MODE;
  WITH wanted AS (
    SELECT DISTINCT r->>0 AS ptype, r->>1 AS v0, r->>2 AS v1, r->>3 AS v2, coalesce(r->>4, '') AS v3
    FROM jsonb_array_elements(rules) r
  ), del AS (
    DELETE FROM public.authz_rules a
    WHERE NOT EXISTS (SELECT FROM wanted w WHERE (w.ptype, w.v0, w.v1, w.v2, w.v3) = (a.ptype, a.v0, a.v1, a.v2, a.v3))
    RETURNING 1
  ), ins AS (
    INSERT INTO public.authz_rules (ptype, v0, v1, v2, v3) SELECT * FROM wanted ON CONFLICT DO NOTHING RETURNING 1
  )
  SELECT (SELECT count(*) FROM del), (SELECT count(*) FROM ins) INTO removed, added;
  IF added + removed > 0 THEN
    INSERT INTO audit.events (action, object_type, object_id, outcome, details)
    VALUES ('policy:sync', 'policy', '', 'SUCCESS', jsonb_build_object(
      'added', added, 'removed', removed, 'rules', jsonb_array_length(rules), 'role', session_user::text,
      'sha256', encode(sha256(convert_to((SELECT string_agg(x::text, E'\n' ORDER BY x::text) FROM jsonb_array_elements(rules) x), 'UTF8')), 'hex')));
    PERFORM pg_notify('amparo_authz', '');
  END IF;
  RETURN added + removed;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION authz_sync_rules(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION authz_sync_rules(jsonb) TO amparo_app;

-- +goose Down
DROP FUNCTION authz_sync_rules(jsonb);
GRANT INSERT, DELETE ON authz_rules TO amparo_app;
