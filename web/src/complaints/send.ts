// Sending one complaint, with the outcome the outbox needs: sent (with its
// tracking code), offline (try again later), or refused by the server.
import type { ApolloClient } from '@apollo/client';
import { SubmitComplaintDocument, type SubmitComplaintInput } from '../gql/graphql';
import { problemsOf } from '../ui/errors';
import type { SendResult } from './queue';

export const OUTBOX_CHANGED = 'amparo-outbox-changed';

export async function sendComplaint(client: ApolloClient, input: SubmitComplaintInput): Promise<SendResult> {
  if (!navigator.onLine) return { kind: 'offline' };
  try {
    const r = await client.mutate({ mutation: SubmitComplaintDocument, variables: { input } });
    if (r.data) return { kind: 'sent', trackingCode: r.data.submitComplaint.trackingCode };
    return { kind: 'offline' };
  } catch (err) {
    const p = problemsOf(err);
    if (p.network || p.codes.includes('UNAVAILABLE') || p.codes.includes('RATE_LIMITED') || p.codes.includes('UNAUTHENTICATED')) return { kind: 'offline' };
    return { kind: 'refused', message: [...Object.values(p.fields), ...p.general].join(' '), fields: p.fields };
  }
}
