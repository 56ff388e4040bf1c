import { describe, expect, test } from 'vitest';
import { emptyComplaint, fromComplaintInput, stepOf, toComplaintInput, validateStep } from './complaintForm';

const today = '2026-12-01';

describe('validateStep', () => {
  test('the first step needs a violation and what happened', () => {
    expect(Object.keys(validateStep('what', emptyComplaint(), today)).sort()).toEqual(['description', 'violations']);
  });
  test('the second step needs who complains and how', () => {
    expect(Object.keys(validateStep('who', emptyComplaint(), today)).sort()).toEqual(['channel', 'complainant.kind']);
  });
  test('the review checks every step', () => {
    expect(Object.keys(validateStep('review', emptyComplaint(), today))).toHaveLength(4);
  });
  test('a date in the future is refused', () => {
    const s = { ...emptyComplaint(), violations: ['X'], description: 'algo', occurredOn: '2027-01-01' };
    expect(Object.keys(validateStep('what', s, today))).toEqual(['occurredOn']);
  });
});

describe('toComplaintInput', () => {
  test('an anonymous complaint carries no name or contact, even if typed before choosing anonymous', () => {
    const input = toComplaintInput({ ...emptyComplaint(), kind: 'ANONYMOUS', name: 'Rosa', contact: '5555', channel: 'PHONE', description: ' x ', violations: ['A'] }, 'k');
    expect(input.complainant).toEqual({ kind: 'ANONYMOUS', name: undefined, contact: undefined });
    expect(input.description).toBe('x');
  });
  test('a named complaint keeps its name', () => {
    expect(toComplaintInput({ ...emptyComplaint(), kind: 'FAMILY_MEMBER', name: ' Rosa ', channel: 'IN_PERSON' }, 'k').complainant.name).toBe('Rosa');
  });
});

test('server field paths send the person back to their step', () => {
  expect(stepOf('complainant.name')).toBe('who');
  expect(stepOf('channel')).toBe('who');
  expect(stepOf('violations[0]')).toBe('what');
  expect(stepOf('description')).toBe('what');
});

test('a complaint kept on the device opens in the form as it was written, to correct it', () => {
  const s = { ...emptyComplaint(), violations: ['TRAFFICKING'], description: 'Niño retenido', kind: 'FAMILY_MEMBER', name: 'Rosa', contact: '5555-0000', channel: 'PHONE', departmentCode: 'GT-13' };
  expect(fromComplaintInput(toComplaintInput(s, 'k'))).toEqual(s);
});
