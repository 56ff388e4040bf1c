// Routes. One folder per screen under src/; a new screen adds its route
// here and its entry in ui/Layout's nav.
import { Navigate, Route, Routes } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useSession } from './auth/SessionProvider';
import { OidcReturn, SignIn } from './auth/SignIn';
import { Layout, PublicLayout, nav } from './ui/Layout';
import { Loading, Page } from './ui/Page';
import { MyCases } from './cases/MyCases';
import { FileCase } from './cases/FileCase';
import { CasePage } from './cases/CasePage';
import { Intake } from './complaints/Intake';
import { MyComplaints } from './complaints/MyComplaints';
import { Tracking } from './tracking/Tracking';
import { AuditTrail } from './audit/AuditTrail';
import { Users } from './admin/Users';
import { Referrals } from './referrals/Referrals';
import { Statistics } from './statistics/Statistics';
import type { ReactNode } from 'react';

function RequireSession({ children }: { children: ReactNode }) {
  const { session, me, loading } = useSession();
  if (!session) return <Navigate to="/ingresar" replace />;
  if (loading || !me) return <Loading />;
  return <>{children}</>;
}

function Home() {
  const { can } = useSession();
  const first = nav.find((n) => can(n.permission));
  return <Navigate to={first?.to ?? '/sin-acceso'} replace />;
}

function NoAccess() {
  const { t } = useTranslation();
  return <Page title={t('errors.noAccessTitle')}><p>{t('errors.noAccess')}</p></Page>;
}

function NotFound() {
  const { t } = useTranslation();
  return <Page title={t('errors.notFoundTitle')}><p><a href="/">{t('errors.backHome')}</a></p></Page>;
}

export function App() {
  return (
    <Routes>
      <Route element={<PublicLayout />}>
        <Route path="/ingresar" element={<SignIn />} />
        <Route path="/ingresar/retorno" element={<OidcReturn />} />
        <Route path="/seguimiento" element={<Tracking />} />
      </Route>
      <Route element={<RequireSession><Layout /></RequireSession>}>
        <Route path="/" element={<Home />} />
        <Route path="/casos" element={<MyCases />} />
        <Route path="/casos/nuevo" element={<FileCase />} />
        <Route path="/casos/:id" element={<CasePage />} />
        <Route path="/denuncias/nueva" element={<Intake />} />
        <Route path="/denuncias" element={<MyComplaints />} />
        <Route path="/remisiones" element={<Referrals />} />
        <Route path="/estadisticas" element={<Statistics />} />
        <Route path="/auditoria" element={<AuditTrail />} />
        <Route path="/usuarios" element={<Users />} />
        <Route path="/sin-acceso" element={<NoAccess />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
