import { describe, expect, test } from 'vitest';
import { emptyRefer, toReferInput, validateRefer } from './referForm';

const filled = () => ({ ...emptyRefer(), toInstitution: 'SBS', services: ['SHELTER'], reason: 'Necesita albergue.' });

describe('validateRefer', () => {
  test('an empty form names every missing field', () => {
    expect(Object.keys(validateRefer(emptyRefer())).sort()).toEqual(['consent.given', 'reason', 'services', 'toInstitution']);
  });
  test('consent given needs who gave it', () => {
    expect(validateRefer({ ...filled(), consent: 'yes' })).toEqual({ 'consent.by': 'refer.errors.by' });
  });
  test('without consent, a legal basis and a written justification', () => {
    expect(validateRefer({ ...filled(), consent: 'no', justification: 'corta' })).toEqual({
      'consent.basis': 'refer.errors.basis', 'consent.justification': 'refer.errors.justification',
    });
  });
});

describe('toReferInput', () => {
  test('consent given sends who, and no basis', () => {
    expect(toReferInput({ ...filled(), consent: 'yes', by: 'CAREGIVER', basis: 'BEST_INTERESTS' }, 'c1').consent).toEqual({ given: true, by: 'CAREGIVER' });
  });
  test('without consent sends the basis and justification; the case urgency when none is chosen', () => {
    const input = toReferInput({ ...filled(), consent: 'no', basis: 'VITAL_INTEREST', justification: '  Riesgo inminente para la vida del niño.  ' }, 'c1');
    expect(input.consent).toEqual({ given: false, basis: 'VITAL_INTEREST', justification: 'Riesgo inminente para la vida del niño.' });
    expect(input.urgency).toBeUndefined();
  });
});
