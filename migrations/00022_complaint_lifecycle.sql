-- Complaints reach the institutions that must act on them: routing, the
-- complaint-handling steps (received, acknowledged, triaged, then linked to
-- a case, forwarded or closed), their deadlines and optimistic concurrency.

-- +goose Up
ALTER TABLE complaints DROP CONSTRAINT complaints_status_check;
ALTER TABLE complaints DROP CONSTRAINT complaints_check;
UPDATE complaints SET status = 'ACKNOWLEDGED' WHERE status = 'UNDER_REVIEW';
ALTER TABLE complaints ADD CONSTRAINT complaints_status CHECK (status IN
  ('RECEIVED', 'ACKNOWLEDGED', 'TRIAGED', 'LINKED', 'FORWARDED', 'CLOSED'));
-- a linked complaint has its case; it keeps it when the case closes it
ALTER TABLE complaints ADD CONSTRAINT complaints_linked CHECK (status <> 'LINKED' OR case_id IS NOT NULL);
ALTER TABLE complaints ADD COLUMN version int NOT NULL DEFAULT 1;
-- the deadline of the current step; none once linked or closed
ALTER TABLE complaints ADD COLUMN due_at timestamptz;
UPDATE complaints SET due_at = submitted_at + interval '24 hours' WHERE status = 'RECEIVED';
UPDATE complaints SET due_at = submitted_at + interval '30 days' WHERE status = 'ACKNOWLEDGED';
-- who committed the violations, as the complainant says (routing uses it)
ALTER TABLE complaints ADD COLUMN perpetrator_types text[] NOT NULL DEFAULT '{}';
-- set by triage: how urgent, and the violations as classified (the
-- violations as submitted stay in complaint_violations)
ALTER TABLE complaints ADD COLUMN urgency text CHECK (urgency IN ('IMMEDIATE', 'HIGH', 'MEDIUM', 'LOW'));
ALTER TABLE complaints ADD COLUMN triaged_violations text[];
-- closure: its outcome, and the reason in words (never in the audit trail)
ALTER TABLE complaints ADD COLUMN outcome text CHECK (outcome IN
  ('RESOLVED', 'OUT_OF_SCOPE_REFERRED', 'WITHDRAWN', 'DUPLICATE'));
ALTER TABLE complaints ADD COLUMN closure_reason text;
ALTER TABLE complaints ADD CONSTRAINT complaints_outcome CHECK ((status = 'CLOSED') = (outcome IS NOT NULL));
CREATE INDEX complaints_case ON complaints (case_id) WHERE case_id IS NOT NULL;

-- The institutions a complaint is routed to. A route stays on record when
-- triage or a forward withdraws it (active false): who received what, and
-- when, is part of the complaint's history.
CREATE TABLE complaint_routes (
  complaint_id     uuid NOT NULL REFERENCES complaints (id),
  institution_code text NOT NULL REFERENCES institutions (code),
  active           boolean NOT NULL,
  -- RULE (on submission, rules listed), TRIAGE or FORWARD
  source           text NOT NULL CHECK (source IN ('RULE', 'TRIAGE', 'FORWARD')),
  rules            text[] NOT NULL DEFAULT '{}',
  -- a forward's reason, in words
  reason           text,
  routed_by        uuid NOT NULL REFERENCES users (id),
  routed_at        timestamptz NOT NULL,
  withdrawn_at     timestamptz,
  PRIMARY KEY (complaint_id, institution_code)
);
CREATE INDEX complaint_routes_queue ON complaint_routes (institution_code, complaint_id) WHERE active;
GRANT SELECT, INSERT, UPDATE ON complaint_routes TO amparo_app;

-- Complaints on file are routed by the rules on their violations (the
-- rules on perpetrators and situations need what is recorded only from now
-- on), or by the fallback rule when none applies.
INSERT INTO complaint_routes (complaint_id, institution_code, active, source, rules, routed_by, routed_at)
SELECT k.id, r.institution_code, true, 'RULE', array_agg(DISTINCT r.id ORDER BY r.id), k.submitted_by, k.submitted_at
FROM complaints k
JOIN complaint_violations v ON v.complaint_id = k.id
JOIN violation_types t ON t.code = v.type_code
JOIN complaint_routing_rules r ON NOT r.fallback AND r.perpetrator = '*' AND r.situation = '*'
  AND (r.violation = v.type_code OR r.violation = 'category:' || t.category_code OR r.violation = '*')
GROUP BY k.id, r.institution_code, k.submitted_by, k.submitted_at;
INSERT INTO complaint_routes (complaint_id, institution_code, active, source, rules, routed_by, routed_at)
SELECT k.id, r.institution_code, true, 'RULE', ARRAY[r.id], k.submitted_by, k.submitted_at
FROM complaints k JOIN complaint_routing_rules r ON r.fallback
WHERE NOT EXISTS (SELECT 1 FROM complaint_routes x WHERE x.complaint_id = k.id);

-- +goose Down
DROP TABLE complaint_routes;
DROP INDEX complaints_case;
ALTER TABLE complaints DROP CONSTRAINT complaints_outcome;
ALTER TABLE complaints DROP COLUMN closure_reason;
ALTER TABLE complaints DROP COLUMN outcome;
ALTER TABLE complaints DROP COLUMN triaged_violations;
ALTER TABLE complaints DROP COLUMN urgency;
ALTER TABLE complaints DROP COLUMN perpetrator_types;
ALTER TABLE complaints DROP COLUMN due_at;
ALTER TABLE complaints DROP COLUMN version;
ALTER TABLE complaints DROP CONSTRAINT complaints_linked;
ALTER TABLE complaints DROP CONSTRAINT complaints_status;
UPDATE complaints SET status = 'UNDER_REVIEW' WHERE status IN ('ACKNOWLEDGED', 'TRIAGED', 'FORWARDED');
UPDATE complaints SET status = 'LINKED' WHERE case_id IS NOT NULL;
ALTER TABLE complaints ADD CONSTRAINT complaints_status_check CHECK (status IN ('RECEIVED', 'UNDER_REVIEW', 'LINKED', 'CLOSED'));
ALTER TABLE complaints ADD CONSTRAINT complaints_check CHECK ((status = 'LINKED') = (case_id IS NOT NULL));
