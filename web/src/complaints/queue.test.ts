import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, test } from 'vitest';
import { decrypt, enqueue, flush, hasPassphrase, isUnlocked, lock, pending, pendingOnDevice, unlock, type Payload, type SendResult } from './queue';
import type { SubmitComplaintInput } from '../gql/graphql';

const FAST = 1000; // PBKDF2 iterations for tests; the console uses 600,000.
const input = (key: string): SubmitComplaintInput => ({
  idempotencyKey: key, complainant: { kind: 'ANONYMOUS' }, channel: 'IN_PERSON', description: 'Niña sola en el río Suchiate', violations: ['TRAFFICKING'],
});

beforeEach(async () => {
  lock();
  await new Promise<void>((resolve) => { const r = indexedDB.deleteDatabase('amparo-outbox'); r.onsuccess = () => resolve(); r.onerror = () => resolve(); });
});

describe('outbox', () => {
  test('what is kept is ciphertext, readable with the key only', async () => {
    expect(await unlock('u1', 'clave-larga-1', FAST)).toBe(true);
    const e = await enqueue('u1', input('k1'));
    expect(new TextDecoder().decode(e.data)).not.toContain('Suchiate');
    expect((await decrypt(e)).description).toBe('Niña sola en el río Suchiate');
  });

  test('after the tab is gone, the right passphrase reopens it and a wrong one does not', async () => {
    await unlock('u1', 'clave-larga-1', FAST);
    await enqueue('u1', input('k1'));
    lock(); // what closing the tab does to the key
    expect(isUnlocked('u1')).toBe(false);
    expect(await hasPassphrase('u1')).toBe(true);
    expect(await unlock('u1', 'otra-clave-2')).toBe(false);
    await expect(decrypt((await pending('u1'))[0]!)).rejects.toThrow();
    expect(await unlock('u1', 'clave-larga-1')).toBe(true);
    expect((await decrypt((await pending('u1'))[0]!)).idempotencyKey).toBe('k1');
  });

  test('the outbox cannot be written while locked', async () => {
    await expect(enqueue('u1', input('k1'))).rejects.toThrow(/locked/);
  });

  test('a flush sends each entry once with its own key and erases it, and the salt with the last', async () => {
    await unlock('u1', 'clave-larga-1', FAST);
    await enqueue('u1', input('k1'));
    await enqueue('u1', input('k2'));
    const sent: string[] = [];
    const send = async (i: Payload): Promise<SendResult> => { sent.push(i.idempotencyKey); return { kind: 'sent', trackingCode: 'C-' + i.idempotencyKey }; };
    await Promise.all([flush('u1', send, () => {}), flush('u1', send, () => {})]); // two triggers at once
    expect(sent.sort()).toEqual(['k1', 'k2']);
    expect(await pending('u1')).toEqual([]);
    expect(await hasPassphrase('u1')).toBe(false);
  });

  test('a case kept offline goes to its own sender, marked as a case', async () => {
    await unlock('u1', 'clave-larga-1', FAST);
    await enqueue('u1', input('k1'));
    await enqueue('u1', { idempotencyKey: 'c1', urgency: 'HIGH', departmentCode: 'GT-13', summary: 's', violations: [{ type: 'NEGLECT' }],
      child: { sex: 'MALE', nationality: 'SLV', populationStatus: 'MIGRANT_TRANSIT', careStatus: 'SEPARATED' } }, 'case');
    const kinds: string[] = [];
    await flush('u1', async (i, e) => { kinds.push(`${e.kind}:${i.idempotencyKey}`); return { kind: 'sent', caseId: 'x', reference: 'PGN-1' }; }, () => {});
    expect(kinds.sort()).toEqual(['case:c1', 'complaint:k1']);
    expect(await pending('u1')).toEqual([]);
  });

  test('without a connection nothing is erased', async () => {
    await unlock('u1', 'clave-larga-1', FAST);
    await enqueue('u1', input('k1'));
    await flush('u1', async () => ({ kind: 'offline' }), () => {});
    expect(await pending('u1')).toHaveLength(1);
  });

  test('a refused entry is kept for a person to see', async () => {
    await unlock('u1', 'clave-larga-1', FAST);
    await enqueue('u1', input('k1'));
    const seen: string[] = [];
    await flush('u1', async () => ({ kind: 'refused', message: 'no', fields: {} }), (_e, r) => seen.push(r.kind));
    expect(seen).toEqual(['refused']);
    expect(await pending('u1')).toHaveLength(1);
  });

  test("another user's entries are counted but not theirs to send", async () => {
    await unlock('u1', 'clave-larga-1', FAST);
    await enqueue('u1', input('k1'));
    expect(await pending('u2')).toEqual([]);
    expect(await pendingOnDevice()).toBe(1);
  });
});
