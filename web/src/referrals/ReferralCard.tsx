// One referral as a card: what the receiving office may see before it
// accepts (urgency, violation categories, age band, sex, services asked,
// the answer deadline) and, once it may read the case, the link to it.
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { ReferralSummaryFragment } from '../gql/graphql';
import { formatTime, relativeDue } from '../ui/format';
import { useReference } from '../ui/useReference';

export function ReferralCard({ r, level = 2, children }: { r: ReferralSummaryFragment; level?: 2 | 3; children?: React.ReactNode }) {
  const { t } = useTranslation();
  const { ref } = useReference();
  const service = (code: string) => ref?.referralServices.find((s) => s.code === code)?.label ?? code;
  const Title = level === 2 ? 'h2' : 'h3';
  const pending = r.status === 'PENDING';
  return (
    <article className={'case-card' + (r.overdue ? ' case-card--overdue' : '')} aria-labelledby={'r-' + r.id}>
      <Title className="case-card__title" id={'r-' + r.id}>
        {t('referrals.fromTo', { from: r.from.name, to: r.to.name })}
        {r.case && <> · <Link to={`/casos/${r.case.id}`}>{r.case.reference}</Link></>}
      </Title>
      <p className="case-card__tags">
        <span className={'tag' + (pending ? ' tag--pending' : '')}>{t('referralStatus.' + r.status, { defaultValue: r.status })}</span>
        <span className="tag">{t('ReferralKind.' + r.kind)}</span>
        <span className={'tag tag--' + r.urgency.toLowerCase()}>{t('urgency.' + r.urgency)}</span>
        {r.ageBand && <span className="tag">{t('ageBand.' + r.ageBand)}</span>}
        <span className="tag">{t('Sex.' + r.sex)}</span>
      </p>
      <dl className="summary-list">
        <div className="summary-list__row"><dt>{t('referrals.categories')}</dt><dd>{r.violationCategories.map((c) => c.label).join(', ') || '—'}</dd></div>
        <div className="summary-list__row"><dt>{t('referrals.services')}</dt><dd>{r.services.map(service).join(', ')}</dd></div>
        {r.reason && <div className="summary-list__row"><dt>{t('refer.reason')}</dt><dd className="prose">{r.reason}</dd></div>}
        <div className="summary-list__row"><dt>{t('referrals.identity')}</dt><dd>
          {r.shareIdentity ? t('referrals.identityShared') : t('referrals.identityNotShared')}
          {' · '}{r.consent.given ? t('referrals.consentBy', { by: t('consentBy.' + (r.consent.by ?? ''), { defaultValue: r.consent.by ?? '' }) })
            : t('referrals.basis', { basis: t('legalBasis.' + (r.consent.basis ?? ''), { defaultValue: r.consent.basis ?? '' }) })}
        </dd></div>
        {r.responseReason && <div className="summary-list__row"><dt>{t('referrals.response')}</dt><dd className="prose">{r.responseReason}</dd></div>}
      </dl>
      <p className="case-card__meta">
        {t('referrals.sentOn', { when: formatTime(r.createdAt) })}
        {pending && r.dueAt && <> · <strong>{r.overdue ? t('cases.overdue', { when: relativeDue(r.dueAt) }) : t('referrals.answerBy', { when: relativeDue(r.dueAt) })}</strong></>}
      </p>
      {!r.case && pending && <p className="muted">{t('referrals.summaryOnly')}</p>}
      {children}
    </article>
  );
}
