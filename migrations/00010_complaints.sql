-- Complaints (denuncias) received by border-area institutions, and case
-- notes.
--


-- +goose Up
CREATE TABLE complaints (
  id               uuid PRIMARY KEY,
  -- the institution that received the complaint owns it
  institution_code text NOT NULL REFERENCES institutions (code),
  -- SHA-256 of the tracking code given to the complainant; the code itself
  -- is shown once and never stored
  tracking_hash    bytea NOT NULL UNIQUE CHECK (length(tracking_hash) = 32),
  status           text NOT NULL CHECK (status IN ('RECEIVED', 'UNDER_REVIEW', 'LINKED', 'CLOSED')),
  complainant_kind text NOT NULL CHECK (complainant_kind IN ('CHILD', 'FAMILY_MEMBER', 'INSTITUTION', 'NGO', 'ANONYMOUS')),
  channel          text NOT NULL CHECK (channel IN ('IN_PERSON', 'PHONE', 'WRITTEN', 'REFERRAL')),
  description      text NOT NULL,
  department_code  text REFERENCES departments (code),
  entry_point_code text REFERENCES entry_points (code),
  occurred_on      date,
  case_id          uuid REFERENCES cases (id),
  submitted_by     uuid NOT NULL REFERENCES users (id),
  submitted_at     timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  CHECK ((status = 'LINKED') = (case_id IS NOT NULL))
);
CREATE INDEX complaints_institution ON complaints (institution_code, submitted_at DESC, id DESC);
CREATE INDEX complaints_submitter ON complaints (submitted_by, submitted_at DESC, id DESC);
CREATE INDEX complaints_submitted ON complaints (submitted_at DESC, id DESC);

-- Who complained, kept apart like a child's identity: a complainant may be
-- the child, or someone at risk for speaking up.
CREATE TABLE complaint_contacts (
  complaint_id uuid PRIMARY KEY REFERENCES complaints (id),
  name         text,
  contact      text
);

CREATE TABLE complaint_violations (
  complaint_id uuid NOT NULL REFERENCES complaints (id),
  position     smallint NOT NULL,
  type_code    text NOT NULL REFERENCES violation_types (code),
  PRIMARY KEY (complaint_id, position)
);
CREATE INDEX complaint_violations_type ON complaint_violations (type_code);

CREATE TABLE complaint_children (
  complaint_id uuid NOT NULL REFERENCES complaints (id),
  child_id     uuid NOT NULL REFERENCES children (id),
  PRIMARY KEY (complaint_id, child_id)
);

-- Notes on a case are append-only: a correction is a new note that points
-- to the note it corrects.
CREATE TABLE case_notes (
  id         uuid PRIMARY KEY,
  case_id    uuid NOT NULL REFERENCES cases (id),
  text       text NOT NULL,
  corrects   uuid REFERENCES case_notes (id),
  author_id  uuid NOT NULL REFERENCES users (id),
  created_at timestamptz NOT NULL
);
CREATE INDEX case_notes_case ON case_notes (case_id, created_at);

GRANT SELECT, INSERT ON complaint_contacts, complaint_violations, complaint_children, case_notes TO amparo_app;
GRANT SELECT, INSERT, UPDATE ON complaints TO amparo_app;

-- +goose Down
DROP TABLE case_notes, complaint_children, complaint_violations, complaint_contacts, complaints;
