import { expect, test } from 'vitest';
import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';
import { problemsOf } from '../ui/errors';
import { FIRST_MS, MAX_MS, backoff, mayRetry } from './retry';

const graphql = (...codes: string[]) => new CombinedGraphQLErrors({ errors: codes.map((code) => ({ message: code, extensions: { code } })) });
const http = (status: number, body = '<html>Bad gateway</html>') => new ServerError('http', { response: new Response(body, { status }), bodyText: body });

test.each([
  ['no connection (fetch failed)', new TypeError('Failed to fetch'), true],
  ['the server is down', graphql('UNAVAILABLE'), true],
  ['too many requests', graphql('RATE_LIMITED'), true],
  ['an internal error', graphql('INTERNAL'), true],
  ['the session must be renewed', graphql('UNAUTHENTICATED'), true],
  ['a proxy answers 502', http(502), true],
  ['a proxy answers 503', http(503), true],
  ['a proxy answers 429', http(429), true],
  ['a field is wrong', graphql('BAD_USER_INPUT'), false],
  ['forbidden', graphql('FORBIDDEN'), false],
  ['a conflict', graphql('CONFLICT'), false],
  ['not found', graphql('NOT_FOUND'), false],
  ['too large', graphql('PAYLOAD_TOO_LARGE'), false],
  ['a transient and a refusal together', graphql('UNAVAILABLE', 'BAD_USER_INPUT'), false],
  ['a proxy refuses the size (413)', http(413), false],
  ["Amparo's own 400 answer", http(400, JSON.stringify({ errors: [{ message: 'x', extensions: { code: 'BAD_USER_INPUT', field: 'summary' } }] })), false],
  ["Amparo's own 503 answer", http(503, JSON.stringify({ errors: [{ message: 'x', extensions: { code: 'UNAVAILABLE' } }] })), true],
])('%s: retried %s', (_name, err, want) => {
  expect(mayRetry(problemsOf(err))).toBe(want);
});

test("an HTTP answer that is GraphQL keeps the field the server names", () => {
  const p = problemsOf(http(400, JSON.stringify({ errors: [{ message: 'demasiado largo', extensions: { code: 'BAD_USER_INPUT', field: 'summary' } }] })));
  expect(p.fields).toEqual({ summary: 'demasiado largo' });
  expect(p.status).toBe(400);
});

test('the wait doubles from the first to the ceiling, spread by at most a fifth', () => {
  const none = () => 0;
  expect([0, 1, 2, 3].map((n) => backoff(n, none))).toEqual([FIRST_MS, 2 * FIRST_MS, 4 * FIRST_MS, 8 * FIRST_MS]);
  expect(backoff(50, none)).toBe(MAX_MS);
  for (let n = 0; n < 10; n++) {
    const w = backoff(n);
    expect(w).toBeGreaterThanOrEqual(backoff(n, () => 1));
    expect(w).toBeLessThanOrEqual(backoff(n, none));
  }
});
