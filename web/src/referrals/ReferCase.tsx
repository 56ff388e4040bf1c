// Refer (or, for supervisors, transfer) a case to another institution, on
// the case page: services asked, the reason, whether the child's identity
// travels, and under what: the consent given, or the legal basis and a
// written justification. Below, the case's referrals so far.
import { useMemo, useState } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { useTranslation } from 'react-i18next';
import { ReferCaseDocument, ReferralsDocument } from '../gql/graphql';
import { useSession } from '../auth/SessionProvider';
import { Choices, SelectField, TextField } from '../ui/Field';
import { ErrorSummary } from '../ui/ErrorSummary';
import { Notice } from '../ui/Page';
import { problemsOf, type FieldErrors } from '../ui/errors';
import { options, urgencies } from '../ui/enums';
import { useReference } from '../ui/useReference';
import { consentBy, emptyRefer, legalBases, toReferInput, validateRefer, type ReferState } from './referForm';
import { ReferralCard } from './ReferralCard';

export function ReferCase({ caseId, institution }: { caseId: string; institution: string }) {
  const { t } = useTranslation();
  const { can } = useSession();
  const { ref } = useReference();
  const [open, setOpen] = useState(false);
  const [s, setS] = useState<ReferState>(emptyRefer());
  const [errors, setErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [done, setDone] = useState<string | null>(null);
  const [refer, { loading }] = useMutation(ReferCaseDocument);
  const list = useQuery(ReferralsDocument, { variables: { filter: { caseId }, first: 20 }, errorPolicy: 'all' });
  const set = <K extends keyof ReferState>(k: K) => (v: ReferState[K]) => setS((p) => ({ ...p, [k]: v }));

  const institutions = useMemo(() => (ref?.institutions ?? []).filter((i) => i.code !== institution && i.code !== 'system')
    .map((i) => ({ value: i.code, label: i.name })), [ref, institution]);
  const services = useMemo(() => (ref?.referralServices ?? []).map((x) => ({ value: x.code, label: x.label })), [ref]);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const local = validateRefer(s);
    if (Object.keys(local).length) {
      setErrors(Object.fromEntries(Object.entries(local).map(([k, v]) => [k, t(v, { n: 20 })])));
      setGeneral([]);
      return;
    }
    try {
      const r = await refer({ variables: { input: toReferInput(s, caseId) } });
      setErrors({}); setGeneral([]); setS(emptyRefer()); setOpen(false);
      setDone(t('refer.done', { institution: r.data?.referCase.referral.to.name ?? s.toInstitution }));
      void list.refetch();
    } catch (err) {
      const p = problemsOf(err);
      setErrors(p.fields);
      setGeneral(p.network ? [t('errors.network')] : p.general);
    }
  };

  const referrals = list.data?.referrals.edges.map((e) => e.node) ?? [];
  return (
    <section aria-labelledby="s-refer">
      <h2 id="s-refer">{t('refer.title')}</h2>
      {done && <Notice kind="success">{done}</Notice>}
      {referrals.length > 0 && (
        <ul className="plain-list">
          {referrals.map((r) => <li key={r.id}><ReferralCard r={r} level={3} /></li>)}
        </ul>
      )}
      {can('case:refer') && !open && (
        <button type="button" className="button button--secondary" onClick={() => { setOpen(true); setDone(null); }}>{t('refer.open')}</button>
      )}
      {can('case:refer') && open && (
        <form onSubmit={(e) => void submit(e)} noValidate>
          <ErrorSummary fields={errors} general={general} />
          <SelectField path="toInstitution" label={t('refer.toInstitution')} placeholder={t('common.choose')} options={institutions}
            value={s.toInstitution} onChange={set('toInstitution')} error={errors.toInstitution} />
          {can('case:transfer') && (
            <Choices path="kind" label={t('refer.kind')} hint={t('refer.kindHint')} options={options(['REFERRAL', 'TRANSFER'], 'ReferralKind', t)}
              value={[s.kind]} onChange={(v) => set('kind')(v[0] ?? 'REFERRAL')} error={errors.kind} />
          )}
          <Choices path="services" multiple label={t('refer.services')} options={services} value={s.services} onChange={set('services')} error={errors.services} />
          <TextField path="reason" multiline label={t('refer.reason')} hint={t('refer.reasonHint')} value={s.reason} onChange={set('reason')} error={errors.reason} />
          <SelectField path="urgency" label={t('refer.urgency')} hint={t('refer.urgencyHint')} placeholder={t('refer.caseUrgency')}
            options={options(urgencies, 'urgency', t)} value={s.urgency} onChange={set('urgency')} error={errors.urgency} />
          <Choices path="shareIdentity" multiple label={t('refer.identity')} hint={t('refer.identityHint')}
            options={[{ value: 'share', label: t('refer.shareIdentity') }]} value={s.shareIdentity ? ['share'] : []}
            onChange={(v) => set('shareIdentity')(v.includes('share'))} error={errors.shareIdentity} />
          <Choices path="consent.given" label={t('refer.consent')} hint={t('refer.consentHint')}
            options={[{ value: 'yes', label: t('refer.consentYes') }, { value: 'no', label: t('refer.consentNo') }]}
            value={s.consent ? [s.consent] : []} onChange={(v) => set('consent')(v[0] ?? '')} error={errors['consent.given']} />
          {s.consent === 'yes' && (
            <Choices path="consent.by" label={t('refer.by')} options={options(consentBy, 'consentBy', t)} value={s.by ? [s.by] : []}
              onChange={(v) => set('by')(v[0] ?? '')} error={errors['consent.by']} />
          )}
          {s.consent === 'no' && (
            <>
              <Choices path="consent.basis" label={t('refer.basis')} options={options(legalBases, 'legalBasis', t)} value={s.basis ? [s.basis] : []}
                onChange={(v) => set('basis')(v[0] ?? '')} error={errors['consent.basis']} />
              <TextField path="consent.justification" multiline label={t('refer.justification')} hint={t('refer.justificationHint')}
                value={s.justification} onChange={set('justification')} error={errors['consent.justification']} />
            </>
          )}
          <div className="actions">
            <button type="submit" className="button" disabled={loading}>{loading ? t('common.sending') : t('refer.submit')}</button>
            <button type="button" className="button button--secondary" onClick={() => { setOpen(false); setErrors({}); setGeneral([]); }}>{t('common.cancel')}</button>
          </div>
        </form>
      )}
    </section>
  );
}
