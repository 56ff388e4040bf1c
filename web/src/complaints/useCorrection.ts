// Correcting an outbox entry the server refused: the form it came from opens
// with what it holds, the same idempotency key (a refused request recorded
// nothing under it, and one that was recorded cannot be filed twice) and
// the server's messages at their fields.
import { useEffect, useState } from 'react';
import { useLocation } from 'react-router';
import { decrypt, findEntry, isUnlocked, markRefused, refusalOf, remove, type Entry, type EntryKind, type Payload, type Refusal } from './queue';
import { OUTBOX_CHANGED } from './send';

/** The navigation state that opens a form on an entry to correct. */
export type CorrectState = { correct: string };

const changed = () => window.dispatchEvent(new Event(OUTBOX_CHANGED));

/**
 * useCorrection loads the entry named by the navigation state, if it is
 * ownerId's, of kind, and the outbox is unlocked, and hands it to apply.
 * sent erases it once the server acknowledged it; refused records the new
 * refusal (a corrected form kept offline replaces it through enqueue).
 */
export function useCorrection<T extends Payload>(ownerId: string, kind: EntryKind, apply: (input: T, refusal: Refusal | null) => void) {
  const id = (useLocation().state as Partial<CorrectState> | null)?.correct;
  const [entry, setEntry] = useState<Entry | null>(null);
  useEffect(() => {
    if (!id || !ownerId || !isUnlocked(ownerId)) return;
    let live = true;
    void (async () => {
      const e = await findEntry(ownerId, id);
      if (!e || (e.kind ?? 'complaint') !== kind) return;
      const input = await decrypt<T>(e);
      const refusal = await refusalOf(e);
      if (!live) return;
      apply(input, refusal);
      setEntry(e);
    })();
    return () => { live = false; };
    // apply is the form's setter of the moment: the entry is loaded once.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id, ownerId, kind]);
  return {
    entry,
    sent: async () => { if (entry) { await remove(entry); setEntry(null); changed(); } },
    refused: async (r: Omit<Refusal, 'at'>) => { if (entry) { setEntry(await markRefused(entry, r)); changed(); } },
  };
}
