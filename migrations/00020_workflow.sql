-- Cases move: the case-management steps (identification and registration,
-- assessment, case plan, implementation, follow-up, closure), assignment,
-- deadlines per step, and the history every timeline is read from. Also
-- the reference tables of the lifecycle (routing rules, deadlines, public
-- holidays), filled by 00021 from reviewed CSV files.

-- +goose Up
-- A filed case was OPEN; it is now REGISTERED, the first step.
UPDATE cases SET status = 'REGISTERED' WHERE status = 'OPEN';
ALTER TABLE cases ADD CONSTRAINT cases_status CHECK (status IN
  ('REGISTERED', 'ASSESSMENT', 'CASE_PLAN', 'IMPLEMENTATION', 'FOLLOW_UP', 'CLOSURE_REQUESTED', 'CLOSED'));
-- due_at is the deadline of the current step; a closed case has none.
ALTER TABLE cases ALTER COLUMN due_at DROP NOT NULL;
-- when the current step began, and when the current cycle began (the
-- registration, or the last reopening): deadlines count from one or the other
ALTER TABLE cases ADD COLUMN step_started_at timestamptz;
ALTER TABLE cases ADD COLUMN cycle_started_at timestamptz;
UPDATE cases SET step_started_at = created_at, cycle_started_at = created_at;
ALTER TABLE cases ALTER COLUMN step_started_at SET NOT NULL;
ALTER TABLE cases ALTER COLUMN cycle_started_at SET NOT NULL;
ALTER TABLE cases ALTER COLUMN step_started_at SET DEFAULT now();
ALTER TABLE cases ALTER COLUMN cycle_started_at SET DEFAULT now();
-- a closure asked for (and then approved) carries its reason and who asked
ALTER TABLE cases ADD COLUMN closure_reason text CHECK (closure_reason IN
  ('GOAL_MET', 'DURABLE_SOLUTION', 'TURNED_18_TRANSITION_PLAN', 'TRANSFERRED', 'NO_LONGER_CONTACTABLE', 'DEATH',
   'NO_FURTHER_ACTION', 'OPENED_IN_ERROR', 'DUPLICATE'));
ALTER TABLE cases ADD COLUMN closure_requested_by uuid REFERENCES users (id);
ALTER TABLE cases ADD CONSTRAINT cases_closure CHECK
  ((status IN ('CLOSURE_REQUESTED', 'CLOSED')) = (closure_reason IS NOT NULL));
ALTER TABLE cases ADD CONSTRAINT cases_due CHECK ((status = 'CLOSED') = (due_at IS NULL));
CREATE INDEX cases_due ON cases (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX cases_unassigned ON cases (institution_code, created_at DESC) WHERE assigned_to IS NULL;

-- What happened to a case, step by step: status changes and assignments.
-- Never updated or deleted. Reasons are free text and stay here: the audit
-- trail holds codes and ids only.
CREATE TABLE case_events (
  id                   uuid PRIMARY KEY,
  case_id              uuid NOT NULL REFERENCES cases (id),
  at                   timestamptz NOT NULL,
  actor_id             uuid NOT NULL REFERENCES users (id),
  kind                 text NOT NULL CHECK (kind IN ('STATUS', 'ASSIGNMENT')),
  from_status          text,
  to_status            text,
  closure_reason       text,
  assignee_id          uuid REFERENCES users (id),
  previous_assignee_id uuid REFERENCES users (id),
  reason               text,
  CHECK (kind <> 'STATUS' OR to_status IS NOT NULL),
  CHECK (kind <> 'ASSIGNMENT' OR assignee_id IS NOT NULL)
);
CREATE INDEX case_events_case ON case_events (case_id, at);
GRANT SELECT, INSERT ON case_events TO amparo_app;

-- Every case on file was registered when it was filed.
INSERT INTO case_events (id, case_id, at, actor_id, kind, to_status)
SELECT gen_random_uuid(), id, created_at, created_by, 'STATUS', 'REGISTERED' FROM cases;
INSERT INTO case_events (id, case_id, at, actor_id, kind, assignee_id)
SELECT gen_random_uuid(), id, created_at, created_by, 'ASSIGNMENT', assigned_to FROM cases WHERE assigned_to IS NOT NULL;

-- Cases whose evidence holds must be brought in line with their status
-- (lifted on closing, set again on reopening). The row is written in the
-- transaction that changes the status; the object store is told after
-- commit, and the row deleted once it has been. What is left is the
-- evidence janitor's exact work list.
CREATE TABLE case_hold_sync (
  case_id      uuid PRIMARY KEY REFERENCES cases (id),
  requested_at timestamptz NOT NULL,
  attempts     integer NOT NULL DEFAULT 0,
  last_error   text
);
GRANT SELECT, INSERT, UPDATE, DELETE ON case_hold_sync TO amparo_app;

-- Reference tables of the lifecycle (rows in 00021, generated from
-- migrations/reference/*.csv).

-- Where a complaint goes on submission: each rule sends complaints with a
-- violation (a type code, "category:CODE" or "*"), a perpetrator type ("*"
-- any) and a child in a situation (a care status, "*" any) to an
-- institution, for the reason given. Fallback rules apply only when no
-- other rule does.
CREATE TABLE complaint_routing_rules (
  id               text PRIMARY KEY,
  violation        text NOT NULL,
  perpetrator      text NOT NULL,
  situation        text NOT NULL,
  institution_code text NOT NULL REFERENCES institutions (code),
  fallback         boolean NOT NULL,
  reason           text NOT NULL CHECK (reason <> '')
);

-- Deadlines per step: of a case (by urgency, "*" any) or of a complaint.
-- anchor: STEP (when the step began), CYCLE (registration or reopening),
-- RECEIPT (when the complaint arrived). unit: HOURS, DAYS (of 24 hours),
-- WORKING_DAYS (to the end of the nth working day after the anchor's day,
-- in Guatemala, skipping weekends and public holidays) or END_OF_DAY (the
-- end of the anchor's day plus amount days); never sooner than min_hours.
CREATE TABLE deadline_rules (
  record    text NOT NULL CHECK (record IN ('case', 'complaint')),
  step      text NOT NULL,
  urgency   text NOT NULL CHECK (urgency IN ('*', 'IMMEDIATE', 'HIGH', 'MEDIUM', 'LOW')),
  anchor    text NOT NULL CHECK (anchor IN ('STEP', 'CYCLE', 'RECEIPT')),
  amount    integer NOT NULL CHECK (amount >= 0),
  unit      text NOT NULL CHECK (unit IN ('HOURS', 'DAYS', 'WORKING_DAYS', 'END_OF_DAY')),
  min_hours integer NOT NULL CHECK (min_hours >= 0),
  reason    text NOT NULL CHECK (reason <> ''),
  PRIMARY KEY (record, step, urgency)
);

-- Guatemala's national public holidays, as observed: not working days.
CREATE TABLE public_holidays (
  day     date PRIMARY KEY,
  name_es text NOT NULL,
  name_en text NOT NULL,
  basis   text NOT NULL
);

GRANT SELECT ON complaint_routing_rules, deadline_rules, public_holidays TO amparo_app;

-- +goose Down
DROP TABLE public_holidays, deadline_rules, complaint_routing_rules, case_hold_sync, case_events;
DROP INDEX cases_unassigned;
DROP INDEX cases_due;
ALTER TABLE cases DROP CONSTRAINT cases_due;
ALTER TABLE cases DROP CONSTRAINT cases_closure;
ALTER TABLE cases DROP COLUMN closure_requested_by;
ALTER TABLE cases DROP COLUMN closure_reason;
ALTER TABLE cases DROP COLUMN cycle_started_at;
ALTER TABLE cases DROP COLUMN step_started_at;
UPDATE cases SET due_at = created_at WHERE due_at IS NULL;
ALTER TABLE cases ALTER COLUMN due_at SET NOT NULL;
ALTER TABLE cases DROP CONSTRAINT cases_status;
UPDATE cases SET status = 'OPEN';
