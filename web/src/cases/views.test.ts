import { expect, test } from 'vitest';
import { viewsFor } from './views';

test('a supervisor starts from the institution and has the closures to decide', () => {
  expect(viewsFor(['supervisor']).map((v) => v.key)).toEqual(['all', 'unassigned', 'overdue', 'closures', 'mine']);
});
test('an officer starts from their own cases and sees the queue', () => {
  const v = viewsFor(['officer']);
  expect(v[0]!.filter).toEqual({ assignedToMe: true });
  expect(v.map((x) => x.key)).toContain('unassigned');
});
test('oversight has every case and nothing else', () => {
  expect(viewsFor(['oversight']).map((v) => v.key)).toEqual(['all']);
});
