// Which failures of sending an outbox entry may succeed later, and how long
// to wait before the next try. The server answers a refusal for good with a
// typed error (BAD_USER_INPUT, FORBIDDEN, CONFLICT, NOT_FOUND,
// PAYLOAD_TOO_LARGE, ...): sending the same entry again would only be
// refused again, so it stops and waits for the person to correct or discard
// it. Only the connection, a server that is down or busy, or a session to
// renew can change on their own.
import type { Problems } from '../ui/errors';

/** Codes of the server that say "not now" rather than "no". */
export const TRANSIENT_CODES: readonly string[] = ['UNAVAILABLE', 'RATE_LIMITED', 'INTERNAL', 'UNAUTHENTICATED'];

/** HTTP statuses, without a GraphQL answer, that say "not now". */
const transientStatus = (status: number) => status >= 500 || status === 408 || status === 429;

/**
 * mayRetry says whether a failed send may succeed later: no answer at all
 * (the network), an answer whose every code is transient, or an HTTP
 * failure of the server or a proxy (5xx, 408, 429). Any other typed error
 * is a refusal for good.
 */
export function mayRetry(p: Problems): boolean {
  if (p.codes.length > 0) return p.codes.every((c) => TRANSIENT_CODES.includes(c));
  if (p.status !== undefined) return transientStatus(p.status);
  return p.network;
}

/** The first wait, its growth and its ceiling. */
export const FIRST_MS = 5_000;
export const MAX_MS = 5 * 60_000;

/**
 * backoff is the wait before try number attempt (0 for the first retry):
 * doubling from FIRST_MS up to MAX_MS, each spread by up to a fifth at
 * random so that the posts of a whole border do not all come back at once.
 */
export function backoff(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_MS, FIRST_MS * 2 ** Math.max(0, Math.min(attempt, 20)));
  return Math.round(base * (1 - 0.2 * random()));
}
