// The officer's queue: their cases (assigned to them), the institution's for
// a supervisor, every case for oversight. Overdue first, then by deadline.
import { useQuery } from '@apollo/client/react';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { MyCasesDocument, type MyCasesQuery } from '../gql/graphql';
import { useSession } from '../auth/SessionProvider';
import { Loading, Notice, Page } from '../ui/Page';
import { formatDate, relativeDue } from '../ui/format';
import { byDeadline } from './queue';
import { viewsFor } from './views';

type Row = MyCasesQuery['cases']['edges'][number]['node'];

export function MyCases() {
  const { t } = useTranslation();
  const { can, me } = useSession();
  const [params] = useSearchParams();
  const available = viewsFor(me?.roles ?? []);
  const view = available.find((v) => v.key === params.get('vista')) ?? available[0]!;
  const { data, loading, error, fetchMore } = useQuery(MyCasesDocument, {
    variables: { filter: view.filter, first: 50 },
  });
  const rows: Row[] = byDeadline(data?.cases.edges.map((e) => e.node) ?? [], Date.now());
  const now = Date.now();
  return (
    <Page title={t('cases.views.' + view.key)} wide>
      {can('case:file') && <p><Link className="button" to="/casos/nuevo">{t('nav.fileCase')}</Link></p>}
      {available.length > 1 && (
        <nav aria-label={t('cases.viewsLabel')} className="tabs">
          <ul>
            {available.map((v) => (
              <li key={v.key}>
                <Link to={v.key === available[0]!.key ? '/casos' : `/casos?vista=${v.key}`} aria-current={v.key === view.key ? 'page' : undefined}>
                  {t('cases.views.' + v.key)}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      )}
      {loading && !data && <Loading />}
      {error && <Notice kind="error">{t('errors.loadFailed')}</Notice>}
      {data && rows.length === 0 && <p>{t('cases.empty')}</p>}
      {rows.length > 0 && (
        <>
          <p role="status">{t('cases.count', { count: data?.cases.totalCount ?? 0 })}</p>
          <ul className="case-list">
            {rows.map((c) => {
              const overdue = c.overdue || (!!c.dueAt && Date.parse(c.dueAt) < now);
              return (
                <li key={c.id} className={'case-card' + (overdue ? ' case-card--overdue' : '')}>
                  <h2 className="case-card__title"><Link to={`/casos/${c.id}`}>{c.reference}</Link></h2>
                  <p className="case-card__tags">
                    <span className={'tag tag--' + c.urgency.toLowerCase()}>{t('urgency.' + c.urgency)}</span>
                    <span className="tag">{t('caseStatus.' + c.status, { defaultValue: c.status })}</span>
                    {c.child.ageBand && <span className="tag">{t('ageBand.' + c.child.ageBand)}</span>}
                    {!c.assignee && <span className="tag tag--pending">{t('cases.unassigned')}</span>}
                  </p>
                  <p>{c.violations.map((v) => v.type.label).join(', ')}</p>
                  <p className="case-card__meta">
                    {c.department.name} · {t('cases.filedOn', { date: formatDate(c.createdAt) })}
                    {c.assignee && <> · {t('cases.assignedTo', { name: c.assignee.name })}</>}
                    {c.dueAt && (
                      <> · <strong>{overdue ? t('cases.overdue', { when: relativeDue(c.dueAt, now) }) : t('cases.due', { when: relativeDue(c.dueAt, now) })}</strong></>
                    )}
                  </p>
                </li>
              );
            })}
          </ul>
          {data?.cases.pageInfo.hasNextPage && (
            <button type="button" className="button button--secondary"
              onClick={() => void fetchMore({
                variables: { after: data.cases.pageInfo.endCursor },
                updateQuery: (prev, { fetchMoreResult }) => ({ cases: { ...fetchMoreResult.cases, edges: [...prev.cases.edges, ...fetchMoreResult.cases.edges] } }),
              })}>
              {t('common.more')}
            </button>
          )}
        </>
      )}
    </Page>
  );
}
