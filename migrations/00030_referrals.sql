-- Referrals and transfers between institutions (issue 12).
--
-- A referral asks another institution for services for the child of a
-- case; a transfer hands the case itself over. Both carry the consent under
-- which the child's data travels: given by the child or a carer, or, when
-- not given, the legal basis and a written justification. The recipient
-- sees a summary only (snapshot columns below) until it accepts.

-- +goose Up
-- The services a referral may ask for: reference data, seeded here.
CREATE TABLE referral_services (
  code     text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]*$'),
  label_es text NOT NULL,
  label_en text NOT NULL,
  position smallint NOT NULL UNIQUE
);
INSERT INTO referral_services (code, label_es, label_en, position) VALUES
  ('SHELTER', 'Albergue o acogimiento temporal', 'Shelter or temporary care', 1),
  ('LEGAL_REPRESENTATION', 'Representación legal', 'Legal representation', 2),
  ('PROTECTION_MEASURES', 'Medidas de protección (juzgado de niñez)', 'Protection measures (children''s court)', 3),
  ('ASYLUM_PROCEDURE', 'Procedimiento de asilo o refugio', 'Asylum procedure', 4),
  ('HEALTH', 'Atención en salud', 'Health care', 5),
  ('PSYCHOSOCIAL', 'Atención psicosocial', 'Psychosocial support', 6),
  ('FAMILY_TRACING', 'Búsqueda y reunificación familiar', 'Family tracing and reunification', 7),
  ('EDUCATION', 'Educación', 'Education', 8),
  ('DOCUMENTATION', 'Documentación e identidad', 'Documentation', 9),
  ('CRIMINAL_INVESTIGATION', 'Investigación penal', 'Criminal investigation', 10),
  ('CONSULAR_PROTECTION', 'Protección consular', 'Consular protection', 11),
  ('REINTEGRATION', 'Reintegración en la comunidad de origen', 'Reintegration in the community of origin', 12),
  ('BASIC_NEEDS', 'Alimentación, vestido y necesidades básicas', 'Food, clothing and basic needs', 13);

ALTER TABLE referrals DROP CONSTRAINT referrals_status_check;
ALTER TABLE referrals
  ADD CONSTRAINT referrals_status_check
    CHECK (status IN ('PENDING', 'ACCEPTED', 'DECLINED', 'COMPLETED', 'WITHDRAWN')),
  -- REFERRAL asks for services; TRANSFER hands the case over on acceptance
  ADD COLUMN kind text NOT NULL DEFAULT 'REFERRAL' CHECK (kind IN ('REFERRAL', 'TRANSFER')),
  ADD COLUMN services text[] NOT NULL DEFAULT '{}',
  ADD COLUMN urgency text NOT NULL DEFAULT 'MEDIUM' CHECK (urgency IN ('IMMEDIATE', 'HIGH', 'MEDIUM', 'LOW')),
  -- the recipient answers by this time (24 h for IMMEDIATE and HIGH, 72 h otherwise)
  ADD COLUMN due_at timestamptz,
  -- consent: given by whom and when, or the legal basis with a justification
  ADD COLUMN consent_given boolean NOT NULL DEFAULT false,
  ADD COLUMN consent_by text CHECK (consent_by IN ('CHILD', 'CAREGIVER', 'GUARDIAN')),
  ADD COLUMN consent_at timestamptz,
  ADD COLUMN consent_basis text CHECK (consent_basis IN ('BEST_INTERESTS', 'LEGAL_OBLIGATION', 'VITAL_INTEREST')),
  -- narrative: never in the audit trail, which holds its SHA-256
  ADD COLUMN consent_justification text,
  -- what the recipient saw before accepting, as it was when referred
  ADD COLUMN summary_age_band text CHECK (summary_age_band IN ('AGE_0_5', 'AGE_6_12', 'AGE_13_17')),
  ADD COLUMN summary_sex text,
  ADD COLUMN summary_categories text[] NOT NULL DEFAULT '{}',
  -- the recipient's answer (a decline needs one)
  ADD COLUMN response_reason text,
  ADD COLUMN services_delivered text[] NOT NULL DEFAULT '{}',
  -- withdrawn by the sender or completed by the recipient
  ADD COLUMN closed_by uuid REFERENCES users (id),
  ADD COLUMN closed_at timestamptz,
  ADD COLUMN close_reason text,
  ADD COLUMN version int NOT NULL DEFAULT 1,
  ADD COLUMN updated_at timestamptz;

-- Rows written before this migration were test fixtures; every referral
-- made since carries consent or a basis (NOT VALID: checked on new rows).
ALTER TABLE referrals ADD CONSTRAINT referrals_consent CHECK (
  (consent_given AND consent_by IS NOT NULL AND consent_at IS NOT NULL AND consent_basis IS NULL)
  OR (NOT consent_given AND consent_basis IS NOT NULL AND consent_justification IS NOT NULL AND consent_by IS NULL)
) NOT VALID;
ALTER TABLE referrals ADD CONSTRAINT referrals_answered CHECK (
  status IN ('PENDING', 'WITHDRAWN') OR responded_at IS NOT NULL
) NOT VALID;

-- One open referral of a case to one institution at a time, and one
-- pending transfer of a case.
CREATE UNIQUE INDEX referrals_open_once ON referrals (case_id, to_institution)
  WHERE status IN ('PENDING', 'ACCEPTED') AND kind = 'REFERRAL';
CREATE UNIQUE INDEX referrals_transfer_once ON referrals (case_id) WHERE status = 'PENDING' AND kind = 'TRANSFER';
-- The two sides' queues, newest first.
CREATE INDEX referrals_incoming ON referrals (to_institution, created_at DESC, id DESC);
CREATE INDEX referrals_outgoing ON referrals (from_institution, created_at DESC, id DESC);

GRANT SELECT ON referral_services TO amparo_app;
-- a transfer moves the child's record with the case, and nothing else of it
GRANT UPDATE (institution_code) ON children TO amparo_app;
-- referrals: SELECT, INSERT, UPDATE granted in 00004; never DELETE.

-- +goose Down
REVOKE UPDATE (institution_code) ON children FROM amparo_app;
DROP INDEX referrals_outgoing, referrals_incoming, referrals_transfer_once, referrals_open_once;
ALTER TABLE referrals DROP CONSTRAINT referrals_answered, DROP CONSTRAINT referrals_consent,
  DROP COLUMN kind, DROP COLUMN services, DROP COLUMN urgency, DROP COLUMN due_at,
  DROP COLUMN consent_given, DROP COLUMN consent_by, DROP COLUMN consent_at, DROP COLUMN consent_basis,
  DROP COLUMN consent_justification, DROP COLUMN summary_age_band, DROP COLUMN summary_sex,
  DROP COLUMN summary_categories, DROP COLUMN response_reason, DROP COLUMN services_delivered,
  DROP COLUMN closed_by, DROP COLUMN closed_at, DROP COLUMN close_reason, DROP COLUMN version,
  DROP COLUMN updated_at;
ALTER TABLE referrals DROP CONSTRAINT referrals_status_check;
ALTER TABLE referrals ADD CONSTRAINT referrals_status_check CHECK (status IN ('PENDING', 'ACCEPTED', 'DECLINED', 'WITHDRAWN'));
DROP TABLE referral_services;
