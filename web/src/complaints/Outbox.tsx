// Complaints kept on this device, "pendiente de envío", sent as soon as the
// connection returns (and the outbox is unlocked), each shown with its
// tracking code once the server has it.
import { useCallback, useEffect, useState } from 'react';
import { useApolloClient } from '@apollo/client/react';
import { useTranslation } from 'react-i18next';
import { Notice } from '../ui/Page';
import { formatTime } from '../ui/format';
import { flush, isUnlocked, pending, type Entry } from './queue';
import { OUTBOX_CHANGED, sendComplaint } from './send';
import { Passphrase } from './Passphrase';
import { TrackingCode } from './TrackingCode';

const RETRY_MS = 5000;

export function Outbox({ ownerId }: { ownerId: string }) {
  const { t } = useTranslation();
  const client = useApolloClient();
  const [entries, setEntries] = useState<Entry[]>([]);
  const [unlocked, setUnlocked] = useState(isUnlocked(ownerId));
  const [sent, setSent] = useState<string[]>([]);
  const [refused, setRefused] = useState<Record<string, string>>({});
  const [online, setOnline] = useState(navigator.onLine);

  const reload = useCallback(async () => {
    setEntries(await pending(ownerId));
    setUnlocked(isUnlocked(ownerId));
  }, [ownerId]);

  const send = useCallback(async () => {
    setOnline(navigator.onLine);
    if (!navigator.onLine || !isUnlocked(ownerId) || (await pending(ownerId)).length === 0) return;
    await flush(ownerId, (input) => sendComplaint(client, input), (entry, r) => {
      if (r.kind === 'sent') setSent((s) => (s.includes(r.trackingCode) ? s : [...s, r.trackingCode]));
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

  if (entries.length === 0 && sent.length === 0) return null;
  return (
    <aside className="outbox" aria-labelledby="outbox-title">
      <h2 id="outbox-title">{t('outbox.title')}</h2>
      {entries.length > 0 && (
        <>
          <p role="status">{t('outbox.pendingCount', { count: entries.length })}{online ? '' : ' ' + t('outbox.waitingConnection')}</p>
          <ul className="plain-list">
            {entries.map((e) => (
              <li key={e.id}>
                <span className="tag tag--pending">{t('outbox.pending')}</span> {t('outbox.savedAt', { when: formatTime(e.createdAt) })}
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
      {sent.length > 0 && <button type="button" className="button button--secondary" onClick={() => setSent([])}>{t('outbox.dismiss')}</button>}
    </aside>
  );
}
