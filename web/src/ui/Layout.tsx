// The frame of every signed-in screen: skip link, header with the
// navigation the person's permissions allow, language switch, sign-out.
// New screens add one entry to `nav`.
import { NavLink, Outlet, useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useApolloClient } from '@apollo/client/react';
import { useSession } from '../auth/SessionProvider';
import { currentLanguage, setLanguage } from '../i18n';
import { Outbox } from '../complaints/Outbox';
import { Bell } from '../alerts/Bell';

export const nav: { to: string; label: string; permission: string }[] = [
  { to: '/casos', label: 'nav.cases', permission: 'case:read' },
  { to: '/casos/nuevo', label: 'nav.fileCase', permission: 'case:file' },
  { to: '/remisiones', label: 'nav.referrals', permission: 'referral:read' },
  { to: '/denuncias/nueva', label: 'nav.newComplaint', permission: 'complaint:submit' },
  { to: '/denuncias', label: 'nav.complaints', permission: 'complaint:read' },
  { to: '/estadisticas', label: 'nav.statistics', permission: 'stats:read' },
  { to: '/auditoria', label: 'nav.audit', permission: 'audit:read' },
  { to: '/usuarios', label: 'nav.users', permission: 'user:manage' },
];

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  const client = useApolloClient();
  const other = currentLanguage() === 'es' ? 'en' : 'es';
  // Labels of reference data come from the server in the request's
  // language: switching refetches what is on screen.
  const change = () => { setLanguage(other); void client.resetStore(); };
  return (
    <button type="button" className="link-button" lang={other} onClick={change} data-lang={i18n.language}>
      {t('nav.otherLanguage')}
    </button>
  );
}

export function Layout() {
  const { t } = useTranslation();
  const { me, can, signOut } = useSession();
  const navigate = useNavigate();
  return (
    <>
      <a className="skip-link" href="#main">{t('nav.skip')}</a>
      <header className="header">
        <div className="header__bar">
          <a className="header__brand" href="/">{t('app.name')}</a>
          <div className="header__who">
            {me && <span>{me.user.name} · {me.institution?.name ?? t('signIn.system')}</span>}
            {can('alert:read') && <Bell />}
            <LanguageSwitch />
            <button type="button" className="link-button" onClick={() => void signOut().then(() => navigate('/ingresar'))}>{t('nav.signOut')}</button>
          </div>
        </div>
        <nav aria-label={t('nav.label')} className="nav">
          <ul>
            {nav.filter((n) => can(n.permission)).map((n) => (
              <li key={n.to}><NavLink to={n.to} end>{t(n.label)}</NavLink></li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" className="main">
        {(can('complaint:submit') || can('case:file')) && me && <Outbox ownerId={me.user.id} />}
        <Outlet />
      </main>
    </>
  );
}

/** PublicLayout frames the screens anyone may open (sign-in, tracking). */
export function PublicLayout() {
  const { t } = useTranslation();
  return (
    <>
      <a className="skip-link" href="#main">{t('nav.skip')}</a>
      <header className="header">
        <div className="header__bar">
          <a className="header__brand" href="/">{t('app.name')}</a>
          <div className="header__who"><LanguageSwitch /></div>
        </div>
      </header>
      <main id="main" className="main"><Outlet /></main>
    </>
  );
}
