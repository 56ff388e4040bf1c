// Referrals in and out: those addressed to the person's institution (with
// accept and decline while pending, complete once accepted) and those it
// made (withdraw while pending); oversight sees all.
import { useState } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { CompleteReferralDocument, ReferralsDocument, RespondToReferralDocument, WithdrawReferralDocument, type ReferralSummaryFragment } from '../gql/graphql';
import { useSession } from '../auth/SessionProvider';
import { Choices, TextField } from '../ui/Field';
import { ErrorSummary } from '../ui/ErrorSummary';
import { Loading, Notice, Page } from '../ui/Page';
import { problemsOf, type FieldErrors } from '../ui/errors';
import { ReferralCard } from './ReferralCard';
import { useReference } from '../ui/useReference';

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

// Withdraw: the referring side takes back a referral not yet answered.
function Withdraw({ r, onDone }: { r: ReferralSummaryFragment; onDone: () => void }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [general, setGeneral] = useState<string[]>([]);
  const [withdraw, { loading }] = useMutation(WithdrawReferralDocument);
  const path = `withdraw-${r.id}`;
  const confirm = async () => {
    try {
      await withdraw({ variables: { input: { referralId: r.id, reason: reason.trim() || undefined } } });
      onDone();
    } catch (err) {
      const p = problemsOf(err);
      setGeneral(p.network ? [t('errors.network')] : [...p.general, ...Object.values(p.fields)]);
    }
  };
  if (!open) {
    return <div className="actions"><button type="button" className="button button--secondary" onClick={() => setOpen(true)}>{t('referrals.withdraw')}</button></div>;
  }
  return (
    <div>
      <ErrorSummary fields={{}} general={general} />
      <TextField path={path} multiline label={t('referrals.withdrawReason')} value={reason} onChange={setReason} />
      <div className="actions">
        <button type="button" className="button button--warning" disabled={loading} onClick={() => void confirm()}>{t('referrals.confirmWithdraw')}</button>
      </div>
    </div>
  );
}

// Complete: the receiving office records which of the services asked it
// delivered, which closes its side of the referral.
function Complete({ r, onDone }: { r: ReferralSummaryFragment; onDone: () => void }) {
  const { t } = useTranslation();
  const { ref } = useReference();
  const [delivered, setDelivered] = useState<string[]>([]);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [complete, { loading }] = useMutation(CompleteReferralDocument);
  const path = `delivered-${r.id}`;
  const options = r.services.map((code) => ({ value: code, label: ref?.referralServices.find((s) => s.code === code)?.label ?? code }));
  const send = async () => {
    if (delivered.length === 0) { setErrors({ [path]: t('referrals.errors.services') }); setGeneral([]); return; }
    try {
      await complete({ variables: { input: { referralId: r.id, servicesDelivered: delivered } } });
      onDone();
    } catch (err) {
      const p = problemsOf(err);
      const field = Object.entries(p.fields).find(([k]) => k.startsWith('servicesDelivered'))?.[1];
      setErrors(field ? { [path]: field } : {});
      setGeneral(p.network ? [t('errors.network')] : p.general);
    }
  };
  return (
    <div>
      <ErrorSummary fields={errors} general={general} />
      <Choices path={path} multiple label={t('referrals.servicesDelivered')} options={options} value={delivered} onChange={setDelivered} error={errors[path]} />
      <div className="actions">
        <button type="button" className="button" disabled={loading} onClick={() => void send()}>{t('referrals.complete')}</button>
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
                  {direction === 'INCOMING' && r.status === 'ACCEPTED' && r.case && can('referral:complete') && (
                    <Complete r={r} onDone={() => { setAnswered(t('referrals.completed')); void refetch(); }} />
                  )}
                  {direction === 'OUTGOING' && r.status === 'PENDING' && can('referral:withdraw') && (
                    <Withdraw r={r} onDone={() => { setAnswered(t('referrals.withdrawn')); void refetch(); }} />
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
