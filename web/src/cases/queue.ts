// Ordering of a case queue: overdue cases first (the most overdue on top),
// then by the nearest deadline, cases without a deadline last.
export function byDeadline<T extends { dueAt?: string | null; createdAt: string }>(rows: T[], now: number): T[] {
  const key = (r: T) => (r.dueAt ? Date.parse(r.dueAt) : Number.POSITIVE_INFINITY);
  return [...rows].sort((a, b) => {
    const ka = key(a), kb = key(b);
    const oa = ka < now, ob = kb < now;
    if (oa !== ob) return oa ? -1 : 1;
    if (ka !== kb) return ka - kb;
    return Date.parse(b.createdAt) - Date.parse(a.createdAt);
  });
}
