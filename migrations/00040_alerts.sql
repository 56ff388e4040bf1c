-- Alerts: what a recipient must hear of now (an urgent case filed, a
-- complaint routed to their institution, a deadline), one row per recipient.
--
-- A row is written in the transaction of the change that causes it, with a
-- notification on channel amparo_alerts that PostgreSQL delivers at commit
-- (and drops on rollback), so every replica pushes it to the recipient's
-- open subscriptions; a replica that missed notifications reads the rows it
-- missed back. Ids and codes only: never a name or free text.

-- +goose Up
CREATE TABLE alerts (
  id           uuid PRIMARY KEY,
  recipient_id uuid NOT NULL REFERENCES users (id),
  kind         text NOT NULL CHECK (kind IN ('URGENT_CASE', 'COMPLAINT_ROUTED', 'REFERRAL_RECEIVED',
    'REFERRAL_ANSWERED', 'CASE_ASSIGNED', 'CLOSURE_REQUESTED', 'DEADLINE_SOON', 'OVERDUE')),
  -- when the alert was raised: the clock at the insert, not the start of
  -- its transaction, so that fan-out lag measures commit and delivery
  at           timestamptz NOT NULL DEFAULT clock_timestamp(),
  case_id      uuid REFERENCES cases (id),
  complaint_id uuid REFERENCES complaints (id),
  referral_id  uuid REFERENCES referrals (id),
  urgency      text CHECK (urgency IN ('IMMEDIATE', 'HIGH', 'MEDIUM', 'LOW')),
  read_at      timestamptz
);
-- the inbox, newest first, and the catch-up of a replica (recipient, since)
CREATE INDEX alerts_recipient ON alerts (recipient_id, at DESC, id DESC);
CREATE INDEX alerts_unread ON alerts (recipient_id, at DESC, id DESC) WHERE read_at IS NULL;
GRANT SELECT, INSERT ON alerts TO amparo_app;
-- marking read is the only change an alert ever sees
GRANT UPDATE (read_at) ON alerts TO amparo_app;

-- Deadline alerts already raised: one per case, deadline and kind, so that
-- the watcher raises each exactly once across restarts and replicas. A new
-- deadline of the same case (a new step) is a new row.
CREATE TABLE alert_deadlines (
  case_id   uuid NOT NULL REFERENCES cases (id),
  due_at    timestamptz NOT NULL,
  kind      text NOT NULL CHECK (kind IN ('DEADLINE_SOON', 'OVERDUE')),
  raised_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, due_at, kind)
);
GRANT SELECT, INSERT ON alert_deadlines TO amparo_app;

-- The watcher scans open cases by deadline with cases_due (00020): a
-- closed case has no deadline.

-- +goose Down
DROP TABLE alert_deadlines;
DROP TABLE alerts;
