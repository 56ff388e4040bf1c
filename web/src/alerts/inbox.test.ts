import { expect, test } from 'vitest';
import { linkOf, unread } from './inbox';

test('an alert both live and kept is listed once, newest first, read ones left out', () => {
  const a = { id: '1', at: '2026-12-01T10:00:00Z', read: false };
  const b = { id: '2', at: '2026-12-01T11:00:00Z', read: false };
  const c = { id: '3', at: '2026-12-01T12:00:00Z', read: true };
  expect(unread([b], [a, b, c]).map((x) => x.id)).toEqual(['2', '1']);
});

test('a referral alert opens the referrals, a case alert its case', () => {
  expect(linkOf({ caseId: 'c', referralId: 'r' })).toBe('/remisiones');
  expect(linkOf({ caseId: 'c' })).toBe('/casos/c');
  expect(linkOf({})).toBeNull();
});
