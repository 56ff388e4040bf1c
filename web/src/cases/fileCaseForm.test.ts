import { describe, expect, test } from 'vitest';
import { emptyFileCase, emptyViolation, toFileCaseInput, validateFileCase, type FileCaseState } from './fileCaseForm';

const today = '2026-12-01';
const valid = (): FileCaseState => ({
  ...emptyFileCase(),
  givenName: ' Ana ', dateOfBirth: '2014-03-09', sex: 'FEMALE', nationality: 'HND', populationStatus: 'MIGRANT_TRANSIT',
  careStatus: 'UNACCOMPANIED', violations: [{ ...emptyViolation(), type: 'TRAFFICKING', occurredOn: '2026-11-20' }],
  departmentCode: 'GT-13', urgency: 'HIGH', summary: 'Niña no acompañada.',
});

describe('validateFileCase', () => {
  const cases: [string, (s: FileCaseState) => void, string[]][] = [
    ['a complete form has no errors', () => {}, []],
    ['an empty form names every required field', (s) => Object.assign(s, { ...emptyFileCase() }),
      ['child.dateOfBirth', 'child.sex', 'child.nationality', 'child.populationStatus', 'child.careStatus', 'violations[0].type', 'departmentCode', 'urgency', 'summary']],
    ['a birth date in the future is refused', (s) => { s.dateOfBirth = '2027-01-01'; }, ['child.dateOfBirth']],
    ['a malformed date is refused', (s) => { s.dateOfBirth = '2014-13-45'; }, ['child.dateOfBirth']],
    ['neither a birth date nor an age is refused', (s) => { s.dateOfBirth = ''; }, ['child.dateOfBirth']],
    ['an age of 18 is refused', (s) => { s.ageYears = '18'; }, ['child.ageYears']],
    ['an age that is not a whole number is refused', (s) => { s.ageYears = '7.5'; }, ['child.ageYears']],
    ['a violation in the future is refused at its index', (s) => { s.violations.push({ ...emptyViolation(), type: 'X', occurredOn: '2027-02-02' }); }, ['violations[1].occurredOn']],
    ['no violation at all is refused', (s) => { s.violations = []; }, ['violations']],
    ['a summary of spaces is refused', (s) => { s.summary = '   '; }, ['summary']],
  ];
  test.each(cases)('%s', (_name, change, fields) => {
    const s = valid();
    change(s);
    expect(Object.keys(validateFileCase(s, today)).sort()).toEqual([...fields].sort());
  });
});

describe('toFileCaseInput', () => {
  test('empty fields are left out and text is trimmed', () => {
    const input = toFileCaseInput(valid(), 'key-1');
    expect(input.idempotencyKey).toBe('key-1');
    expect(input.child.givenName).toBe('Ana');
    expect(input.child.familyName).toBeUndefined();
    expect(input.child.ageYears).toBeUndefined();
    expect(input.entryPoint).toBeUndefined();
    expect(input.violations[0]).toEqual({ type: 'TRAFFICKING', occurredOn: '2026-11-20', journeyStage: undefined, perpetratorType: undefined, description: undefined });
  });
  test('an age is sent as a number', () => {
    expect(toFileCaseInput({ ...valid(), dateOfBirth: '', ageYears: '12' }, 'k').child.ageYears).toBe(12);
  });
});
