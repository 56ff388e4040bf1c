// Sending one complaint or case, with the outcome the outbox needs: sent
// (with its tracking code, or the case's id and reference), offline (try
// again later), or refused by the server.
import type { ApolloClient } from '@apollo/client';
import { FileCaseDocument, SubmitComplaintDocument, type FileCaseInput, type SubmitComplaintInput } from '../gql/graphql';
import { problemsOf } from '../ui/errors';
import type { Entry, Payload, SendResult } from './queue';

export const OUTBOX_CHANGED = 'amparo-outbox-changed';

/** failed sorts a failure: the connection (try again later) or a refusal. */
function failed(err: unknown): SendResult {
  const p = problemsOf(err);
  if (p.network || p.codes.includes('UNAVAILABLE') || p.codes.includes('RATE_LIMITED') || p.codes.includes('UNAUTHENTICATED')) return { kind: 'offline' };
  return { kind: 'refused', message: [...Object.values(p.fields), ...p.general].join(' '), fields: p.fields };
}

export async function sendComplaint(client: ApolloClient, input: SubmitComplaintInput): Promise<SendResult> {
  if (!navigator.onLine) return { kind: 'offline' };
  try {
    const r = await client.mutate({ mutation: SubmitComplaintDocument, variables: { input } });
    if (r.data) return { kind: 'sent', trackingCode: r.data.submitComplaint.trackingCode };
    return { kind: 'offline' };
  } catch (err) {
    return failed(err);
  }
}

export async function sendCase(client: ApolloClient, input: FileCaseInput): Promise<SendResult & { duplicates?: string[] }> {
  if (!navigator.onLine) return { kind: 'offline' };
  try {
    const r = await client.mutate({ mutation: FileCaseDocument, variables: { input } });
    if (r.data) return { kind: 'sent', caseId: r.data.fileCase.case.id, reference: r.data.fileCase.case.reference, duplicates: r.data.fileCase.possibleDuplicates };
    return { kind: 'offline' };
  } catch (err) {
    return failed(err);
  }
}

/** sendEntry sends what an outbox entry holds. */
export function sendEntry(client: ApolloClient, input: Payload, entry: Entry): Promise<SendResult> {
  return entry.kind === 'case' ? sendCase(client, input as FileCaseInput) : sendComplaint(client, input as SubmitComplaintInput);
}
