// Complaints and cases kept on this device, "pendiente de envío", sent as
// soon as the connection returns (and the outbox is unlocked), each shown
// with its tracking code (a complaint) or its reference (a case) once the
// server has it.
import { useCallback, useEffect, useState } from 'react';
import { useApolloClient } from '@apollo/client/react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { Notice } from '../ui/Page';
import { formatTime } from '../ui/format';
import { flush, isUnlocked, pending, type Entry } from './queue';
import { OUTBOX_CHANGED, sendEntry } from './send';
import { Passphrase } from './Passphrase';
import { TrackingCode } from './TrackingCode';

const RETRY_MS = 5000;

export function Outbox({ ownerId }: { ownerId: string }) {
  const { t } = useTranslation();
  const client = useApolloClient();
  const [entries, setEntries] = useState<Entry[]>([]);
  const [unlocked, setUnlocked] = useState(isUnlocked(ownerId));
  const [sent, setSent] = useState<string[]>([]);
  const [filed, setFiled] = useState<{ id: string; reference: string }[]>([]);
  const [refused, setRefused] = useState<Record<string, string>>({});
  const [online, setOnline] = useState(navigator.onLine);

  const reload = useCallback(async () => {
    setEntries(await pending(ownerId));
    setUnlocked(isUnlocked(ownerId));
  }, [ownerId]);

  const send = useCallback(async () => {
    setOnline(navigator.onLine);
    if (!navigator.onLine || !isUnlocked(ownerId) || (await pending(ownerId)).length === 0) return;
    await flush(ownerId, (input, entry) => sendEntry(client, input, entry), (entry, r) => {
      if (r.kind === 'sent' && r.trackingCode) { const code = r.trackingCode; setSent((s) => (s.includes(code) ? s : [...s, code])); }
      if (r.kind === 'sent' && r.caseId && r.reference) { const c = { id: r.caseId, reference: r.reference }; setFiled((f) => (f.some((x) => x.id === c.id) ? f : [...f, c])); }
      if (r.kind === 'refused') setRefused((x) => ({ ...x, [entry.id]: r.message }));
    });
    await reload();
  }, [client, ownerId, reload]);

  useEffect(() => {
    void reload().then(send);
    const changed = () => void reload().then(send);
    const on = () => { setOnline(true); void send(); };
    const off = () => setOnline(false);
    // The online event is not enough (links that flap, browsers that miss
    // it): while something is pending, try again every few seconds.
    const retry = window.setInterval(() => void send(), RETRY_MS);
    window.addEventListener(OUTBOX_CHANGED, changed);
    window.addEventListener('online', on);
    window.addEventListener('offline', off);
    return () => {
      window.clearInterval(retry);
      window.removeEventListener(OUTBOX_CHANGED, changed);
      window.removeEventListener('online', on);
      window.removeEventListener('offline', off);
    };
  }, [reload, send]);

  if (entries.length === 0 && sent.length === 0 && filed.length === 0) return null;
  const cases = entries.filter((e) => e.kind === 'case').length;
  const complaints = entries.length - cases;
  return (
    <aside className="outbox" aria-labelledby="outbox-title">
      <h2 id="outbox-title">{t('outbox.title')}</h2>
      {entries.length > 0 && (
        <>
          <p role="status">
            {[complaints > 0 && t('outbox.pendingCount', { count: complaints }), cases > 0 && t('outbox.pendingCases', { count: cases })].filter(Boolean).join(' ')}
            {online ? '' : ' ' + t('outbox.waitingConnection')}
          </p>
          <ul className="plain-list">
            {entries.map((e) => (
              <li key={e.id}>
                <span className="tag tag--pending">{t('outbox.pending')}</span> {t(e.kind === 'case' ? 'outbox.caseSavedAt' : 'outbox.savedAt', { when: formatTime(e.createdAt) })}
                {refused[e.id] && <Notice kind="error">{t('outbox.refused', { message: refused[e.id] })}</Notice>}
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
