// The alerts bell in the header: the unread count, fed live by the alerts
// subscription (graphql-ws), and the unread inbox with what arrived while
// the person was away; "mark as read" clears them. An alert holds ids and
// codes only, so the inbox says what happened and links to it.
import { useEffect, useRef, useState } from 'react';
import { useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { AlertsDocument, LiveAlertsDocument, MarkAlertsReadDocument, type AlertFieldsFragment } from '../gql/graphql';
import { formatTime } from '../ui/format';
import { onReconnected } from '../api/client';
import { linkOf, unread } from './inbox';

export function Bell() {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [live, setLive] = useState<AlertFieldsFragment[]>([]);
  const [announce, setAnnounce] = useState('');
  const kept = useQuery(AlertsDocument, { variables: { unreadOnly: true, first: 50 } });
  // What the person already has: a subscription opens with the unread
  // alerts of the minute before (one may have committed after the inbox was
  // read), and those already shown are not announced again.
  const known = useRef(new Set<string>());
  for (const e of kept.data?.alerts.edges ?? []) known.current.add(e.node.id);
  const { refetch } = kept;
  // Back after a dropped connection: what was raised meanwhile waits in the
  // inbox.
  useEffect(() => onReconnected(() => void refetch()), [refetch]);
  useSubscription(LiveAlertsDocument, {
    onData: ({ data }) => {
      const a = data.data?.alerts;
      if (!a || known.current.has(a.id)) return;
      known.current.add(a.id);
      setLive((l) => [a, ...l]);
      setAnnounce(t('alerts.arrived', { kind: t('alertKind.' + a.kind, { defaultValue: a.kind }) }));
    },
  });
  const [mark, { loading }] = useMutation(MarkAlertsReadDocument);
  const items = unread(live, kept.data?.alerts.edges.map((e) => e.node) ?? []);
  const count = items.length;

  const markAll = async () => {
    if (items.length === 0) return;
    await mark({ variables: { ids: items.map((a) => a.id) } });
    setLive([]);
    void kept.refetch();
  };

  return (
    <div className="bell">
      <button type="button" className="link-button" aria-expanded={open} aria-controls="alerts-panel" onClick={() => setOpen((o) => !o)}>
        {t('alerts.bell')}<span className="bell__count" data-testid="alerts-count" aria-hidden="true">{count}</span>
        <span className="visually-hidden">{t('alerts.unread', { count })}</span>
      </button>
      <p className="visually-hidden" role="status" aria-live="polite">{announce}</p>
      {open && (
        <div id="alerts-panel" className="alerts-panel" role="region" aria-labelledby="alerts-title">
          <h2 id="alerts-title">{t('alerts.title')}</h2>
          {count === 0 ? <p>{t('alerts.none')}</p> : (
            <>
              <ul className="plain-list">
                {items.map((a) => {
                  const to = linkOf(a);
                  const label = t('alertKind.' + a.kind, { defaultValue: a.kind });
                  return (
                    <li key={a.id} className="alert-item--unread">
                      {to ? <Link to={to} onClick={() => setOpen(false)}>{label}</Link> : <strong>{label}</strong>}
                      {a.urgency && <> <span className={'tag tag--' + a.urgency.toLowerCase()}>{t('urgency.' + a.urgency)}</span></>}
                      <div className="muted">{formatTime(a.at)}</div>
                    </li>
                  );
                })}
              </ul>
              <button type="button" className="button button--secondary" disabled={loading} onClick={() => void markAll()}>{t('alerts.markRead')}</button>
            </>
          )}
        </div>
      )}
    </div>
  );
}
