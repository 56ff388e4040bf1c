// The outbox of complaints (and cases) written without a connection, kept
// on the device encrypted until the server acknowledges them.
//
// Scheme. Each entry is the SubmitComplaintInput (with its idempotency key)
// encrypted with AES-GCM-256 (WebCrypto, a fresh 96-bit IV per entry). The
// key is never stored: it is derived with PBKDF2-SHA-256 (600,000
// iterations, a random 16-byte salt) from a passphrase the person chooses
// when the first complaint is queued, and lives in this tab's memory as a
// non-extractable CryptoKey. IndexedDB holds, per user, only the salt and a
// check value (a known text encrypted with the key, to tell a wrong
// passphrase from a damaged entry); the entries hold only ciphertext, the
// idempotency key (random, says nothing) and the owner's user id. Someone
// with the device but not the passphrase reads nothing; after the tab is
// closed the owner types the passphrase again to send. When an owner's
// outbox is empty its salt and check value are erased too.
//
// Sending: entries go one at a time under a Web Lock (one sender across
// tabs), each with its own idempotency key, so a retry after a lost answer
// is acknowledged by the server as the same complaint, never a second one.
// An entry is deleted only once the server has answered it with a tracking
// code.
import type { FileCaseInput, SubmitComplaintInput } from '../gql/graphql';

/** What an entry holds: a complaint to submit, or a case to file (kind 'case'). */
export type Payload = SubmitComplaintInput | FileCaseInput;
export type EntryKind = 'complaint' | 'case';

export const ITERATIONS = 600_000;
const DB = 'amparo-outbox';
const CHECK = 'amparo-outbox-v1';

export type Entry = { id: string; ownerId: string; idempotencyKey: string; createdAt: string; iv: Uint8Array; data: ArrayBuffer; kind?: EntryKind };
type Meta = { ownerId: string; salt: Uint8Array; iterations: number; checkIv: Uint8Array; check: ArrayBuffer };

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore('meta', { keyPath: 'ownerId' });
      req.result.createObjectStore('entries', { keyPath: 'id' }).createIndex('owner', 'ownerId');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx<T>(stores: string[], mode: IDBTransactionMode, fn: (t: IDBTransaction) => IDBRequest<T> | void): Promise<T | undefined> {
  const db = await open();
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      const t = db.transaction(stores, mode);
      const req = fn(t);
      t.oncomplete = () => resolve(req ? req.result : undefined);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

const keys = new Map<string, CryptoKey>(); // ownerId → key, this tab only

async function derive(passphrase: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveKey']);
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt: salt as BufferSource, iterations }, base,
    { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

const getMeta = (ownerId: string) => tx<Meta>(['meta'], 'readonly', (t) => t.objectStore('meta').get(ownerId) as IDBRequest<Meta>);

/** hasPassphrase says whether ownerId has chosen a passphrase that is still in use. */
export async function hasPassphrase(ownerId: string): Promise<boolean> {
  return !!(await getMeta(ownerId));
}

export function isUnlocked(ownerId: string): boolean {
  return keys.has(ownerId);
}

/**
 * unlock derives the key from the passphrase, creating the salt and check
 * value on first use. It returns false for a wrong passphrase.
 */
export async function unlock(ownerId: string, passphrase: string, iterations = ITERATIONS): Promise<boolean> {
  const meta = await getMeta(ownerId);
  if (!meta) {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const key = await derive(passphrase, salt, iterations);
    const checkIv = crypto.getRandomValues(new Uint8Array(12));
    const check = await crypto.subtle.encrypt({ name: 'AES-GCM', iv: checkIv }, key, new TextEncoder().encode(CHECK));
    await tx(['meta'], 'readwrite', (t) => { t.objectStore('meta').put({ ownerId, salt, iterations, checkIv, check } satisfies Meta); });
    keys.set(ownerId, key);
    return true;
  }
  const key = await derive(passphrase, meta.salt, meta.iterations);
  try {
    await crypto.subtle.decrypt({ name: 'AES-GCM', iv: meta.checkIv as BufferSource }, key, meta.check);
  } catch {
    return false;
  }
  keys.set(ownerId, key);
  return true;
}

/** lock forgets the key of ownerId (sign-out). */
export function lock(ownerId?: string): void {
  if (ownerId) keys.delete(ownerId);
  else keys.clear();
}

/** enqueue stores input encrypted; the outbox must be unlocked. */
export async function enqueue(ownerId: string, input: Payload, kind: EntryKind = 'complaint'): Promise<Entry> {
  const key = keys.get(ownerId);
  if (!key) throw new Error('outbox locked');
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, new TextEncoder().encode(JSON.stringify(input)));
  const entry: Entry = { id: input.idempotencyKey, ownerId, idempotencyKey: input.idempotencyKey, createdAt: new Date().toISOString(), iv, data, kind };
  await tx(['entries'], 'readwrite', (t) => { t.objectStore('entries').put(entry); });
  return entry;
}

/** pending lists ownerId's entries, oldest first (readable without the key: no content). */
export async function pending(ownerId: string): Promise<Entry[]> {
  const all = (await tx<Entry[]>(['entries'], 'readonly', (t) => t.objectStore('entries').index('owner').getAll(ownerId) as IDBRequest<Entry[]>)) ?? [];
  return all.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** pendingOnDevice counts every user's entries on this device (no content is read). */
export async function pendingOnDevice(): Promise<number> {
  return ((await tx<Entry[]>(['entries'], 'readonly', (t) => t.objectStore('entries').getAll() as IDBRequest<Entry[]>)) ?? []).length;
}

/** pendingOthers counts entries of other users on this device. */
export async function pendingOthers(ownerId: string): Promise<number> {
  const all = (await tx<Entry[]>(['entries'], 'readonly', (t) => t.objectStore('entries').getAll() as IDBRequest<Entry[]>)) ?? [];
  return all.filter((e) => e.ownerId !== ownerId).length;
}

export async function decrypt<T extends Payload = SubmitComplaintInput>(entry: Entry): Promise<T> {
  const key = keys.get(entry.ownerId);
  if (!key) throw new Error('outbox locked');
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: entry.iv as BufferSource }, key, entry.data);
  return JSON.parse(new TextDecoder().decode(plain)) as T;
}

/** remove erases an acknowledged entry, and the owner's salt with the last one. */
export async function remove(entry: Entry): Promise<void> {
  await tx(['entries'], 'readwrite', (t) => { t.objectStore('entries').delete(entry.id); });
  if ((await pending(entry.ownerId)).length === 0) {
    await tx(['meta'], 'readwrite', (t) => { t.objectStore('meta').delete(entry.ownerId); });
    keys.delete(entry.ownerId);
  }
}

/** sent: a complaint answers its tracking code, a case its id and reference. */
export type SendResult = { kind: 'sent'; trackingCode?: string; caseId?: string; reference?: string } | { kind: 'offline' }
  | { kind: 'refused'; message: string; fields: Record<string, string> };

let sending: Promise<unknown> = Promise.resolve();

/**
 * flush sends ownerId's entries one at a time, oldest first, and erases each
 * once acknowledged. It stops at the first network failure (the rest wait
 * for the next connection); a refused entry stays, marked, for a person to
 * see. Only one flush runs at a time, in this tab and across tabs.
 */
export function flush(ownerId: string, send: (input: Payload, entry: Entry) => Promise<SendResult>,
  onResult: (entry: Entry, r: SendResult) => void): Promise<void> {
  const run = async () => {
    for (const entry of await pending(ownerId)) {
      const r = await send(await decrypt<Payload>(entry), entry);
      onResult(entry, r);
      if (r.kind === 'offline') return;
      if (r.kind === 'sent') await remove(entry);
    }
  };
  const locked = async (): Promise<void> => {
    if (typeof navigator !== 'undefined' && navigator.locks) await navigator.locks.request('amparo-outbox', run);
    else await run();
  };
  const next = sending.then(locked, locked);
  sending = next.catch(() => undefined);
  return next;
}
