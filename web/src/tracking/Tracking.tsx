// The complainant's page, without sign-in: type (or scan, the QR opens this
// page with ?codigo=) the tracking code, see the status and its date. The
// server answers nothing else and rate-limits the look-ups.
import { useEffect, useState } from 'react';
import { useLazyQuery } from '@apollo/client/react';
import { useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { ComplaintStatusDocument } from '../gql/graphql';
import { TextField } from '../ui/Field';
import { ErrorSummary } from '../ui/ErrorSummary';
import { problemsOf } from '../ui/errors';
import { Notice, Page } from '../ui/Page';
import { formatTime } from '../ui/format';

export function Tracking() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const [code, setCode] = useState(params.get('codigo') ?? '');
  const [error, setError] = useState<string | undefined>();
  const [lookUp, { data, loading, error: failed, called }] = useLazyQuery(ComplaintStatusDocument, { fetchPolicy: 'network-only' });

  const run = (c: string) => {
    const trimmed = c.trim().toUpperCase();
    if (!trimmed) { setError(t('tracking.empty')); return; }
    setError(undefined);
    void lookUp({ variables: { trackingCode: trimmed } }).catch(() => undefined);
  };
  useEffect(() => {
    const c = params.get('codigo');
    if (c) run(c);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const status = data?.complaintStatus;
  const problem = failed ? problemsOf(failed) : null;
  return (
    <Page title={t('tracking.title')}>
      <p>{t('tracking.intro')}</p>
      <ErrorSummary fields={error ? { trackingCode: error } : {}} general={[]} />
      <form onSubmit={(e) => { e.preventDefault(); run(code); }} noValidate>
        <TextField path="trackingCode" large label={t('tracking.code')} hint={t('tracking.codeHint')} value={code} onChange={setCode} error={error} />
        <button type="submit" className="button" disabled={loading}>{t('tracking.submit')}</button>
      </form>
      <div aria-live="polite">
        {called && !loading && status && (
          <div className="status-panel" data-testid="complaint-status">
            <p className="status-panel__label">{status.label}</p>
            <p>{t('tracking.updatedAt', { when: formatTime(status.updatedAt) })}</p>
          </div>
        )}
        {called && !loading && data && !status && <Notice kind="warning">{t('tracking.notFound')}</Notice>}
        {problem && <Notice kind="error">{problem.codes.includes('RATE_LIMITED') ? t('tracking.rateLimited') : problem.network ? t('errors.network') : problem.general[0]}</Notice>}
      </div>
    </Page>
  );
}
