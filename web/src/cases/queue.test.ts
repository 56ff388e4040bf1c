import { expect, test } from 'vitest';
import { byDeadline } from './queue';

test('overdue cases come first, the most overdue on top, then the nearest deadline, then none', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  const rows = [
    { id: 'none', dueAt: null, createdAt: '2026-11-30T00:00:00Z' },
    { id: 'later', dueAt: '2026-12-03T00:00:00Z', createdAt: '2026-11-30T00:00:00Z' },
    { id: 'overdue-1h', dueAt: '2026-12-01T11:00:00Z', createdAt: '2026-11-30T00:00:00Z' },
    { id: 'soon', dueAt: '2026-12-01T15:00:00Z', createdAt: '2026-11-30T00:00:00Z' },
    { id: 'overdue-2d', dueAt: '2026-11-29T12:00:00Z', createdAt: '2026-11-30T00:00:00Z' },
  ];
  expect(byDeadline(rows, now).map((r) => r.id)).toEqual(['overdue-2d', 'overdue-1h', 'soon', 'later', 'none']);
});
