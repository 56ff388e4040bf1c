import { expect, test } from 'vitest';
import { guatemalaToday } from './format';

test("today is Guatemala's day, not UTC's", () => {
  // 1 December, 19:30 in Guatemala: already 2 December in UTC.
  expect(guatemalaToday(Date.parse('2026-12-02T01:30:00Z'))).toBe('2026-12-01');
  // 2 December, 00:10 in Guatemala.
  expect(guatemalaToday(Date.parse('2026-12-02T06:10:00Z'))).toBe('2026-12-02');
});
