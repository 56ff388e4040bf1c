// The unread inbox of the bell: alerts that arrived live (newest first)
// merged with those the server kept while the person was away, each once.
export type AlertLike = { id: string; at: string; read: boolean };

export function unread<T extends AlertLike>(live: T[], kept: T[]): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const a of [...live, ...kept]) {
    if (seen.has(a.id) || a.read) continue;
    seen.add(a.id);
    out.push(a);
  }
  return out.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
}

/** linkOf is where an alert takes the person. */
export function linkOf(a: { caseId?: string | null; referralId?: string | null; complaintId?: string | null }): string | null {
  if (a.referralId) return '/remisiones';
  if (a.caseId) return `/casos/${a.caseId}`;
  if (a.complaintId) return '/denuncias';
  return null;
}
