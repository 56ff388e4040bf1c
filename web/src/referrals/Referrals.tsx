// Referrals in and out: those addressed to the person's institution (with
// accept and decline while pending) and those it made; oversight sees all.
import { useState } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { ReferralsDocument, RespondToReferralDocument, type ReferralSummaryFragment } from '../gql/graphql';
import { useSession } from '../auth/SessionProvider';
import { TextField } from '../ui/Field';
import { ErrorSummary } from '../ui/ErrorSummary';
import { Loading, Notice, Page } from '../ui/Page';
import { problemsOf, type FieldErrors } from '../ui/errors';
import { ReferralCard } from './ReferralCard';

function Respond({ r, onAnswered }: { r: ReferralSummaryFragment; onAnswered: (accepted: boolean) => void }) {
  const { t } = useTranslation();
  const [declining, setDeclining] = useState(false);
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [respond, { loading }] = useMutation(RespondToReferralDocument);
  const path = `reason-${r.id}`;
  const answer = async (accept: boolean) => {
    if (!accept && !reason.trim()) { setErrors({ [path]: t('referrals.errors.reason') }); setGeneral([]); return; }
    try {
      await respond({ variables: { input: { referralId: r.id, accept, reason: reason.trim() || undefined, expectedVersion: r.version } } });
      onAnswered(accept);
    } catch (err) {
      const p = problemsOf(err);
      setErrors(p.fields.reason ? { [path]: p.fields.reason } : {});
      setGeneral(p.network ? [t('errors.network')] : p.general);
    }
  };
  return (
    <div>
      <ErrorSummary fields={errors} general={general} />
      {declining && (
        <TextField path={path} multiline label={t('referrals.declineReason')} value={reason} onChange={setReason} error={errors[path]} />
      )}
      <div className="actions">
        {!declining && <button type="button" className="button" disabled={loading} onClick={() => void answer(true)}>{t('referrals.accept')}</button>}
        {declining
          ? <button type="button" className="button button--warning" disabled={loading} onClick={() => void answer(false)}>{t('referrals.confirmDecline')}</button>
          : <button type="button" className="button button--secondary" onClick={() => setDeclining(true)}>{t('referrals.decline')}</button>}
      </div>
    </div>
  );
}

export function Referrals() {
  const { t } = useTranslation();
  const { me, can } = useSession();
  const [params] = useSearchParams();
  const all = me?.roles.includes('oversight') && !me.roles.some((r) => r === 'officer' || r === 'supervisor');
  const direction = all ? undefined : params.get('sentido') === 'enviadas' ? 'OUTGOING' : 'INCOMING';
  const { data, loading, error, refetch } = useQuery(ReferralsDocument, { variables: { filter: direction ? { direction } : {}, first: 50 }, errorPolicy: 'all' });
  const [answered, setAnswered] = useState<string | null>(null);
  const rows = data?.referrals.edges.map((e) => e.node) ?? [];
  const title = all ? t('referrals.title') : direction === 'OUTGOING' ? t('referrals.outgoing') : t('referrals.incoming');
  return (
    <Page title={title} wide>
      {!all && (
        <nav aria-label={t('referrals.directions')} className="tabs">
          <ul>
            <li><Link to="/remisiones" aria-current={direction === 'INCOMING' ? 'page' : undefined}>{t('referrals.incoming')}</Link></li>
            <li><Link to="/remisiones?sentido=enviadas" aria-current={direction === 'OUTGOING' ? 'page' : undefined}>{t('referrals.outgoing')}</Link></li>
          </ul>
        </nav>
      )}
      {answered && <Notice kind="success">{answered}</Notice>}
      {loading && !data && <Loading />}
      {error && !data && <Notice kind="error">{t('errors.loadFailed')}</Notice>}
      {data && rows.length === 0 && <p>{t('referrals.empty')}</p>}
      {rows.length > 0 && (
        <>
          <p role="status">{t('referrals.count', { count: data?.referrals.totalCount ?? rows.length })}</p>
          <ul className="case-list">
            {rows.map((r) => (
              <li key={r.id}>
                <ReferralCard r={r}>
                  {direction === 'INCOMING' && r.status === 'PENDING' && can('referral:respond') && (
                    <Respond r={r} onAnswered={(accepted) => { setAnswered(t(accepted ? 'referrals.accepted' : 'referrals.declined')); void refetch(); }} />
                  )}
                </ReferralCard>
              </li>
            ))}
          </ul>
        </>
      )}
    </Page>
  );
}
