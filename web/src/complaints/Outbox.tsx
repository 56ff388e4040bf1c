// Complaints and cases kept on this device, "pendiente de envío", sent as
// soon as the connection returns (and the outbox is unlocked), each shown
// with its tracking code (a complaint) or its reference (a case) once the
// server has it. What may pass later (no connection, a server down or
// busy) is tried again, waiting longer each time (retry.ts); what the
// server refused for good is shown with its reasons, to correct and resend
// or to discard.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useApolloClient } from '@apollo/client/react';
import { Link, useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Notice } from '../ui/Page';
import { formatTime } from '../ui/format';
import { flush, isUnlocked, pending, refusalOf, remove, type Entry, type Refusal } from './queue';
import { OUTBOX_CHANGED, sendEntry } from './send';
import { backoff } from './retry';
import { fieldLabel } from './fields';
import type { CorrectState } from './useCorrection';
import { Passphrase } from './Passphrase';
import { TrackingCode } from './TrackingCode';

export function Outbox({ ownerId }: { ownerId: string }) {
  const { t } = useTranslation();
  const client = useApolloClient();
  const [entries, setEntries] = useState<Entry[]>([]);
  const [unlocked, setUnlocked] = useState(isUnlocked(ownerId));
  const [sent, setSent] = useState<string[]>([]);
  const [filed, setFiled] = useState<{ id: string; reference: string }[]>([]);
  const [refusals, setRefusals] = useState<Record<string, Refusal>>({});
  const [online, setOnline] = useState(navigator.onLine);
  const attempt = useRef(0);
  const timer = useRef<number | undefined>(undefined);

  const reload = useCallback(async () => {
    const list = await pending(ownerId);
    setEntries(list);
    const open = isUnlocked(ownerId);
    setUnlocked(open);
    if (open) {
      const r: Record<string, Refusal> = {};
      for (const e of list) {
        const why = await refusalOf(e).catch(() => null);
        if (why) r[e.id] = why;
      }
      setRefusals(r);
    }
    return list;
  }, [ownerId]);

  const send = useCallback(async () => {
    window.clearTimeout(timer.current);
    setOnline(navigator.onLine);
    if (!isUnlocked(ownerId)) return;
    if (navigator.onLine && (await pending(ownerId)).some((e) => !e.refusal)) {
      await flush(ownerId, (input, entry) => sendEntry(client, input, entry), (_entry, r) => {
        if (r.kind !== 'sent') return;
        attempt.current = 0;
        if (r.trackingCode) { const code = r.trackingCode; setSent((s) => (s.includes(code) ? s : [...s, code])); }
        if (r.caseId && r.reference) { const c = { id: r.caseId, reference: r.reference }; setFiled((f) => (f.some((x) => x.id === c.id) ? f : [...f, c])); }
      });
    }
    const left = await reload();
    // The online event is not enough (links that flap, browsers that miss
    // it): while something may still go, try again, each time later.
    if (left.some((e) => !e.refusal)) {
      window.clearTimeout(timer.current);
      timer.current = window.setTimeout(() => void send(), backoff(attempt.current++));
    } else {
      attempt.current = 0;
    }
  }, [client, ownerId, reload]);

  useEffect(() => {
    void reload().then(send);
    const changed = () => void reload().then(send);
    const on = () => { setOnline(true); attempt.current = 0; void send(); };
    const off = () => setOnline(false);
    window.addEventListener(OUTBOX_CHANGED, changed);
    window.addEventListener('online', on);
    window.addEventListener('offline', off);
    return () => {
      window.clearTimeout(timer.current);
      window.removeEventListener(OUTBOX_CHANGED, changed);
      window.removeEventListener('online', on);
      window.removeEventListener('offline', off);
    };
  }, [reload, send]);

  if (entries.length === 0 && sent.length === 0 && filed.length === 0) return null;
  const waiting = entries.filter((e) => !e.refusal);
  const cases = waiting.filter((e) => e.kind === 'case').length;
  const complaints = waiting.length - cases;
  const refused = entries.length - waiting.length;
  return (
    <aside className="outbox" aria-labelledby="outbox-title">
      <h2 id="outbox-title">{t('outbox.title')}</h2>
      {entries.length > 0 && (
        <>
          <p role="status">
            {[complaints > 0 && t('outbox.pendingCount', { count: complaints }), cases > 0 && t('outbox.pendingCases', { count: cases }),
              refused > 0 && t('outbox.refusedCount', { count: refused })].filter(Boolean).join(' ')}
            {online || waiting.length === 0 ? '' : ' ' + t('outbox.waitingConnection')}
          </p>
          <ul className="plain-list">
            {entries.map((e) => (
              <li key={e.id}>
                {e.refusal
                  ? <span className="tag tag--refused">{t('outbox.refusedTag')}</span>
                  : <span className="tag tag--pending">{t('outbox.pending')}</span>}{' '}
                {t(e.kind === 'case' ? 'outbox.caseSavedAt' : 'outbox.savedAt', { when: formatTime(e.createdAt) })}
                {e.refusal && refusals[e.id] && <RefusedEntry entry={e} refusal={refusals[e.id]!} onDiscarded={() => void reload()} />}
              </li>
            ))}
          </ul>
          {!unlocked && <Passphrase ownerId={ownerId} creating={false} onUnlocked={() => { setUnlocked(true); void send(); }} />}
        </>
      )}
      {sent.map((code) => (
        <div key={code}>
          <Notice kind="success">{t('outbox.sent')}</Notice>
          <TrackingCode code={code} />
        </div>
      ))}
      {filed.map((c) => (
        <Notice key={c.id} kind="success">{t('outbox.caseFiled')} <Link to={`/casos/${c.id}`}>{c.reference}</Link></Notice>
      ))}
      {(sent.length > 0 || filed.length > 0) && <button type="button" className="button button--secondary" onClick={() => { setSent([]); setFiled([]); }}>{t('outbox.dismiss')}</button>}
    </aside>
  );
}

/** RefusedEntry says why the server refused an entry, and offers to correct and resend it, or to discard it. */
function RefusedEntry({ entry, refusal, onDiscarded }: { entry: Entry; refusal: Refusal; onDiscarded: () => void }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [confirming, setConfirming] = useState(false);
  const kind = entry.kind ?? 'complaint';
  const correct = () => navigate(kind === 'case' ? '/casos/nuevo' : '/denuncias/nueva', { state: { correct: entry.id } satisfies CorrectState });
  const fields = Object.entries(refusal.fields);
  return (
    <div className="notice notice--error">
      <p>{t(kind === 'case' ? 'outbox.refusedCase' : 'outbox.refusedComplaint')}</p>
      {refusal.message && <p>{refusal.message}</p>}
      {fields.length > 0 && (
        <ul>
          {fields.map(([path, message]) => {
            const label = fieldLabel(kind, path);
            return <li key={path}><strong>{label ? t(label) : path}</strong>: {message}</li>;
          })}
        </ul>
      )}
      <div className="button-row">
        <button type="button" className="button" onClick={correct}>{t('outbox.correct')}</button>
        {confirming ? (
          <>
            <button type="button" className="button button--warning" onClick={() => void remove(entry).then(onDiscarded)}>{t('outbox.discardConfirm')}</button>
            <button type="button" className="button button--secondary" onClick={() => setConfirming(false)}>{t('outbox.keep')}</button>
          </>
        ) : (
          <button type="button" className="button button--secondary" onClick={() => setConfirming(true)}>{t('outbox.discard')}</button>
        )}
      </div>
    </div>
  );
}
