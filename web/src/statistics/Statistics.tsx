// Oversight's (and supervisors') indicator report: the action plan's
// indicators over a period, each as a chart and a table, with exports. The
// server suppresses counts of 1 to 4 and perturbs the rest; a suppressed
// figure is marked as such everywhere, never shown as 0.
import { useState } from 'react';
import { useMutation, useQuery } from '@apollo/client/react';
import { useTranslation } from 'react-i18next';
import {
  ExportCasesDocument, ExportIndicatorReportDocument, ExportStatisticsDocument, IndicatorReportDocument,
  type IndicatorReportQuery,
} from '../gql/graphql';
import { useSession } from '../auth/SessionProvider';
import { TextField } from '../ui/Field';
import { Loading, Notice, Page } from '../ui/Page';
import { problemsOf } from '../ui/errors';
import { formatTime } from '../ui/format';
import { useReference } from '../ui/useReference';
import { currentLanguage } from '../i18n';
import { BarChart } from './BarChart';
import { barsOf, joinKey } from './labels';

type Indicator = IndicatorReportQuery['indicatorReport']['indicators'][number];
type Period = { from?: string; to?: string };

/** useDownload runs an export mutation and sends the browser to its file. */
function useDownload() {
  const { t } = useTranslation();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (make: () => Promise<{ url: string } | undefined>) => {
    setError(null); setBusy(true);
    try {
      const e = await make();
      if (e) window.location.assign(e.url);
    } catch (err) {
      const p = problemsOf(err);
      setError(p.network ? t('errors.network') : (p.general[0] ?? t('errors.loadFailed')));
    } finally {
      setBusy(false);
    }
  };
  return { run, error, busy };
}

function Figure({ value, suppressed }: { value?: number | null; suppressed: boolean }) {
  const { t } = useTranslation();
  if (suppressed || value == null) return <span className="suppressed" data-suppressed="true">{t(suppressed ? 'stats.suppressed' : 'stats.withheld')}</span>;
  return <>{value}</>;
}

function IndicatorView({ ind, period }: { ind: Indicator; period: Period }) {
  const { t } = useTranslation();
  const { ref } = useReference();
  const lang = currentLanguage();
  const [exportStats] = useMutation(ExportStatisticsDocument);
  const dl = useDownload();
  const title = t('stats.indicators.' + ind.name, { defaultValue: ind.name });
  const tbl = ind.table;
  const hasColumns = ind.columns.length > 0;
  const rowHead = ind.rows.map((d) => t('stats.dims.' + d, { defaultValue: d })).join(' · ');
  const rate = (key: string[]) => ind.rates?.find((r) => r.key.join('\u0000') === key.join('\u0000'));
  const download = () => dl.run(async () => (await exportStats({ variables: { input: {
    format: 'CSV', statistics: { measure: ind.measure, rows: ind.rows, columns: ind.columns, from: period.from, to: period.to },
  } } })).data?.exportStatistics);
  const hid = 'ind-' + ind.name;
  return (
    <section className="indicator" aria-labelledby={hid}>
      <h2 id={hid}>{title}</h2>
      {tbl.rows.length === 0 ? <p>{t('stats.noData')}</p> : (
        <>
          <BarChart title={hasColumns ? t('stats.chartTotals', { title }) : title} bars={barsOf(tbl, ind.rows, ref, t, lang)} />
          <div className="table-wrap" tabIndex={0} role="region" aria-label={t('stats.tableOf', { title })}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{rowHead}</th>
                  {hasColumns
                    ? tbl.columns.map((c, i) => <th scope="col" key={i}>{joinKey(ind.columns, c, ref, t, lang)}</th>)
                    : <th scope="col">{t('stats.measures.' + ind.measure, { defaultValue: ind.measure })}</th>}
                  {hasColumns && <th scope="col">{t('stats.total')}</th>}
                  {ind.rates && <th scope="col">{t('stats.rate')}</th>}
                </tr>
              </thead>
              <tbody>
                {tbl.rows.map((r, i) => (
                  <tr key={i}>
                    <th scope="row">{joinKey(ind.rows, r.key, ref, t, lang)}</th>
                    {r.cells.map((c, j) => <td key={j}><Figure value={c.value} suppressed={c.suppressed} /></td>)}
                    {hasColumns && <td><Figure value={r.total} suppressed={false} /></td>}
                    {ind.rates && <td>{(() => { const v = rate(r.key)?.value; return v == null ? <span className="suppressed">{t('stats.withheld')}</span> : `${(v * 100).toFixed(0)} %`; })()}</td>}
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr><th scope="row">{t('stats.total')}</th><td colSpan={Math.max(1, tbl.columns.length) + (hasColumns ? 1 : 0) + (ind.rates ? 1 : 0)}><Figure value={tbl.total} suppressed={false} /></td></tr>
              </tfoot>
            </table>
          </div>
          <p className="muted">{t('stats.suppressedCells', { count: tbl.suppressedCells })}</p>
        </>
      )}
      <button type="button" className="button button--secondary" disabled={dl.busy} onClick={() => void download()}>
        {t('stats.exportCsv')}<span className="visually-hidden">: {title}</span>
      </button>
      {dl.error && <Notice kind="error">{dl.error}</Notice>}
    </section>
  );
}

export function Statistics() {
  const { t } = useTranslation();
  const { can } = useSession();
  const [form, setForm] = useState({ from: '', to: '' });
  const [period, setPeriod] = useState<Period>({});
  const { data, loading, error } = useQuery(IndicatorReportDocument, { variables: period });
  const [exportReport] = useMutation(ExportIndicatorReportDocument);
  const [exportCases] = useMutation(ExportCasesDocument);
  const dl = useDownload();
  const report = data?.indicatorReport;
  return (
    <Page title={t('stats.title')} wide>
      <Notice kind="info">{t('stats.disclosure')}</Notice>
      <form className="filters" onSubmit={(e) => { e.preventDefault(); setPeriod({ from: form.from || undefined, to: form.to || undefined }); }}>
        <TextField path="stats.from" type="date" label={t('stats.from')} value={form.from} onChange={(v) => setForm((f) => ({ ...f, from: v }))} />
        <TextField path="stats.to" type="date" label={t('stats.to')} value={form.to} onChange={(v) => setForm((f) => ({ ...f, to: v }))} />
        <div className="actions"><button type="submit" className="button">{t('stats.apply')}</button></div>
      </form>
      <h2>{t('stats.exports')}</h2>
      <div className="actions">
        {(['CSV', 'XLSX'] as const).map((format) => (
          <button key={format} type="button" className="button button--secondary" disabled={dl.busy}
            onClick={() => void dl.run(async () => (await exportReport({ variables: { input: { format, ...period } } })).data?.exportIndicatorReport)}>
            {t('stats.exportReport', { format })}
          </button>
        ))}
        {can('case:export') && (['CSV', 'XLSX'] as const).map((format) => (
          <button key={'c' + format} type="button" className="button button--secondary" disabled={dl.busy}
            onClick={() => void dl.run(async () => (await exportCases({ variables: { input: { format, filter: {
              createdAfter: period.from ? new Date(period.from + 'T00:00:00-06:00').toISOString() : undefined,
              createdBefore: period.to ? new Date(period.to + 'T23:59:59-06:00').toISOString() : undefined,
            } } } })).data?.exportCases)}>
            {t('stats.exportCases', { format })}
          </button>
        ))}
      </div>
      <p className="muted">{t('stats.exportsHint')}</p>
      {dl.error && <Notice kind="error">{dl.error}</Notice>}
      {loading && !data && <Loading />}
      {error && !data && <Notice kind="error">{problemsOf(error).general[0] ?? t('errors.loadFailed')}</Notice>}
      {report && (
        <>
          <p role="status">{t('stats.generatedAt', { when: formatTime(report.generatedAt) })}</p>
          {report.indicators.map((ind) => <IndicatorView key={ind.name} ind={ind} period={period} />)}
        </>
      )}
    </Page>
  );
}
