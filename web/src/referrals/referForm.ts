// The logic of the refer-a-case form: its state, the checks made before
// sending (the server checks again, on the same field paths) and the
// ReferCaseInput sent.
import type { ReferCaseInput, ReferralKind, Urgency } from '../gql/graphql';

export const consentBy = ['CHILD', 'CAREGIVER', 'GUARDIAN'] as const;
export const legalBases = ['BEST_INTERESTS', 'LEGAL_OBLIGATION', 'VITAL_INTEREST'] as const;
export const MIN_JUSTIFICATION = 20;

export type ReferState = {
  toInstitution: string;
  kind: string;
  services: string[];
  reason: string;
  urgency: string;
  shareIdentity: boolean;
  /** 'yes', 'no' or '' (not said yet). */
  consent: string;
  by: string;
  basis: string;
  justification: string;
};

export const emptyRefer = (): ReferState => ({
  toInstitution: '', kind: 'REFERRAL', services: [], reason: '', urgency: '', shareIdentity: false,
  consent: '', by: '', basis: '', justification: '',
});

/** validateRefer returns, per field path, the catalog key of what is wrong. */
export function validateRefer(s: ReferState): Record<string, string> {
  const e: Record<string, string> = {};
  if (!s.toInstitution) e.toInstitution = 'refer.errors.toInstitution';
  if (s.services.length === 0) e.services = 'refer.errors.services';
  if (!s.reason.trim()) e.reason = 'refer.errors.reason';
  if (!s.consent) e['consent.given'] = 'refer.errors.consent';
  if (s.consent === 'yes' && !s.by) e['consent.by'] = 'refer.errors.by';
  if (s.consent === 'no') {
    if (!s.basis) e['consent.basis'] = 'refer.errors.basis';
    if (s.justification.trim().length < MIN_JUSTIFICATION) e['consent.justification'] = 'refer.errors.justification';
  }
  return e;
}

export function toReferInput(s: ReferState, caseId: string): ReferCaseInput {
  const given = s.consent === 'yes';
  return {
    caseId,
    toInstitution: s.toInstitution,
    kind: s.kind as ReferralKind,
    services: s.services,
    reason: s.reason.trim(),
    urgency: s.urgency ? (s.urgency as Urgency) : undefined,
    shareIdentity: s.shareIdentity,
    consent: given ? { given, by: s.by } : { given, basis: s.basis, justification: s.justification.trim() },
  };
}
