-- Children, cases and the violations recorded in them.
--
-- A child's identity (names, date of birth, contact, documents) lives in its
-- own table, apart from everything else, so that it can be withheld from
-- whoever is not entitled to it and encrypted without touching the rest.

-- +goose Up
CREATE TABLE children (
  id                uuid PRIMARY KEY,
  institution_code  text NOT NULL REFERENCES institutions (code),
  sex               text NOT NULL CHECK (sex IN ('FEMALE', 'MALE', 'OTHER', 'UNKNOWN')),
  nationality       text NOT NULL CHECK (nationality ~ '^[A-Z]{3}$'),
  population_status text NOT NULL CHECK (population_status IN
    ('REFUGEE', 'ASYLUM_SEEKER', 'RETURNEE', 'MIGRANT_TRANSIT', 'IDP', 'STATELESS', 'NATIONAL_HOST', 'OTHER')),
  care_status       text NOT NULL CHECK (care_status IN ('UNACCOMPANIED', 'SEPARATED', 'WITH_FAMILY')),
  -- age in whole years when first registered, and its band (Ley PINA art. 2:
  -- niña/niño under 13, adolescente 13 to 17); never secret, unlike the date of birth
  age_years         smallint CHECK (age_years BETWEEN 0 AND 17),
  age_band          text CHECK (age_band IN ('AGE_0_5', 'AGE_6_12', 'AGE_13_17')),
  vulnerabilities   text[] NOT NULL DEFAULT '{}',
  languages         text[] NOT NULL DEFAULT '{}',
  created_by        uuid NOT NULL REFERENCES users (id),
  created_at        timestamptz NOT NULL
);

CREATE TABLE child_identities (
  child_id      uuid PRIMARY KEY REFERENCES children (id),
  given_name    text,
  family_name   text,
  other_names   text,
  date_of_birth date,
  -- true when the date of birth was estimated (no document, the child's own account)
  dob_estimated boolean NOT NULL DEFAULT false,
  contact       text,
  documents     jsonb NOT NULL DEFAULT '[]'
);

-- Gapless case numbers per institution and year: PGN-2026-000123.
CREATE TABLE case_counters (
  institution_code text NOT NULL REFERENCES institutions (code),
  year             int NOT NULL,
  last             int NOT NULL,
  PRIMARY KEY (institution_code, year)
);

CREATE TABLE cases (
  id               uuid PRIMARY KEY,
  institution_code text NOT NULL REFERENCES institutions (code),
  reference        text NOT NULL UNIQUE,
  status           text NOT NULL,
  urgency          text NOT NULL CHECK (urgency IN ('IMMEDIATE', 'HIGH', 'MEDIUM', 'LOW')),
  -- first contact is due by this time; implied by the urgency at filing
  due_at           timestamptz NOT NULL,
  department_code  text NOT NULL REFERENCES departments (code),
  municipality     text,
  entry_point_code text REFERENCES entry_points (code),
  summary          text NOT NULL,
  child_id         uuid NOT NULL REFERENCES children (id),
  assigned_to      uuid REFERENCES users (id),
  version          int NOT NULL DEFAULT 1,
  created_by       uuid NOT NULL REFERENCES users (id),
  created_at       timestamptz NOT NULL,
  updated_by       uuid NOT NULL REFERENCES users (id),
  updated_at       timestamptz NOT NULL
);
CREATE INDEX cases_institution_created ON cases (institution_code, created_at DESC, id DESC);
CREATE INDEX cases_created ON cases (created_at DESC, id DESC);
CREATE INDEX cases_assigned ON cases (assigned_to) WHERE assigned_to IS NOT NULL;
CREATE INDEX cases_child ON cases (child_id);

CREATE TABLE case_violations (
  case_id               uuid NOT NULL REFERENCES cases (id),
  position              smallint NOT NULL CHECK (position >= 0),
  type_code             text NOT NULL REFERENCES violation_types (code),
  occurred_on           date,
  -- DAY when occurred_on is exact, MONTH when only the month is known
  occurred_precision    text CHECK (occurred_precision IN ('DAY', 'MONTH')),
  journey_stage         text CHECK (journey_stage IN
    ('ORIGIN', 'TRANSIT', 'BORDER', 'DETENTION_OR_HOLDING', 'DESTINATION', 'RETURN_RECEPTION')),
  perpetrator_type      text CHECK (perpetrator_type IN
    ('FAMILY_CAREGIVER', 'COMMUNITY_MEMBER', 'CRIMINAL_GROUP', 'SMUGGLER_TRAFFICKER', 'EMPLOYER',
     'STATE_POLICE', 'STATE_MIGRATION', 'STATE_OTHER_OFFICIAL', 'SHELTER_OR_SERVICE_STAFF',
     'HUMANITARIAN_WORKER', 'UNKNOWN')),
  trafficking_purpose   text,
  discrimination_ground text,
  description           text,
  PRIMARY KEY (case_id, position),
  CHECK ((occurred_on IS NULL) = (occurred_precision IS NULL))
);
CREATE INDEX case_violations_type ON case_violations (type_code);

-- A case referred to another institution. The receiving institution sees the
-- case (scope REFERRED) once it has accepted; identity only when granted.
CREATE TABLE referrals (
  id               uuid PRIMARY KEY,
  case_id          uuid NOT NULL REFERENCES cases (id),
  from_institution text NOT NULL REFERENCES institutions (code),
  to_institution   text NOT NULL REFERENCES institutions (code),
  status           text NOT NULL CHECK (status IN ('PENDING', 'ACCEPTED', 'DECLINED', 'WITHDRAWN')),
  share_identity   boolean NOT NULL DEFAULT false,
  reason           text NOT NULL,
  created_by       uuid NOT NULL REFERENCES users (id),
  created_at       timestamptz NOT NULL,
  responded_by     uuid REFERENCES users (id),
  responded_at     timestamptz,
  CHECK (from_institution <> to_institution)
);
CREATE INDEX referrals_to ON referrals (to_institution, case_id) WHERE status = 'ACCEPTED';
CREATE INDEX referrals_case ON referrals (case_id);

-- A retried submission must never create a second record: the first result
-- of a (user, operation, key) is kept with a hash of the request that made it.
CREATE TABLE idempotency_keys (
  user_id      uuid NOT NULL REFERENCES users (id),
  operation    text NOT NULL,
  key          text NOT NULL,
  request_hash bytea NOT NULL,
  result_id    uuid NOT NULL,
  -- a secret the first answer carried (a complaint's tracking code), kept so
  -- that a retry whose first answer was lost on the way still gets it
  replay_secret text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, operation, key)
);

GRANT SELECT, INSERT ON children, child_identities, case_violations, idempotency_keys TO amparo_app;
GRANT SELECT, INSERT, UPDATE ON cases, case_counters, referrals TO amparo_app;

-- +goose Down
DROP TABLE idempotency_keys, referrals, case_violations, cases, case_counters, child_identities, children;
