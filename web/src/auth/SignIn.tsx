// The sign-in page. Under `amparo dev` it lists the demo users and signs in
// as one (POST /dev/token); in production it sends the person to the
// institution's identity provider.
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { Page, Loading, Notice } from '../ui/Page';
import { consoleConfig, type ConsoleConfig } from './config';
import { setSession } from './session';
import { oidcCallback, oidcSignIn } from './oidc';
import { pendingOnDevice } from '../complaints/queue';

type DemoUser = { email: string; name: string; institution: string; role: string };

export function SignIn() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [cfg, setCfg] = useState<ConsoleConfig | null>(null);
  const [users, setUsers] = useState<DemoUser[]>([]);
  const [failed, setFailed] = useState(false);
  const [pending, setPending] = useState(0);

  useEffect(() => {
    pendingOnDevice().then(setPending, () => setPending(0));
    consoleConfig()
      .then(async (c) => {
        setCfg(c);
        if (c.signIn === 'dev') {
          const r = await fetch('/dev/users');
          setUsers((await r.json()) as DemoUser[]);
        }
      })
      .catch(() => setFailed(true));
  }, []);

  const signInAs = async (email: string) => {
    setFailed(false);
    try {
      const r = await fetch('/dev/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email }) });
      if (!r.ok) throw new Error(String(r.status));
      setSession((await r.json()) as { token: string; expiresAt: string });
      navigate('/', { replace: true });
    } catch {
      setFailed(true);
    }
  };

  return (
    <Page title={t('signIn.title')}>
      {pending > 0 && <Notice kind="warning">{t('signIn.pending', { count: pending })}</Notice>}
      {failed && <Notice kind="error">{navigator.onLine ? t('signIn.failed') : t('signIn.offline')}</Notice>}
      {!cfg && !failed && <Loading />}
      {cfg?.signIn === 'dev' && (
        <>
          <Notice kind="warning">{t('signIn.devWarning')}</Notice>
          <ul className="user-list">
            {users.map((u) => (
              <li key={u.email}>
                <button type="button" className="button button--secondary user-list__button" onClick={() => void signInAs(u.email)}>
                  <span className="user-list__name">{u.name}</span>
                  <span className="user-list__meta">{t('roles.' + u.role)} · {u.institution || t('signIn.system')} · {u.email}</span>
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
      {cfg?.signIn === 'oidc' && (
        <button type="button" className="button" onClick={() => void oidcSignIn()}>{t('signIn.oidc')}</button>
      )}
      {cfg?.signIn === 'none' && <Notice kind="error">{t('signIn.notConfigured')}</Notice>}
      <p><a href="/seguimiento">{t('signIn.trackingLink')}</a></p>
    </Page>
  );
}

export function OidcReturn() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    oidcCallback().then(() => navigate('/', { replace: true })).catch(() => setFailed(true));
  }, [navigate]);
  return <Page title={t('signIn.title')}>{failed ? <Notice kind="error">{t('signIn.failed')}</Notice> : <Loading />}</Page>;
}
