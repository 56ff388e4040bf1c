// What happened to the complaints the intake post (or the institution) has
// recorded: status and dates, newest first.
import { useQuery } from '@apollo/client/react';
import { useTranslation } from 'react-i18next';
import { MyComplaintsDocument } from '../gql/graphql';
import { Loading, Notice, Page } from '../ui/Page';
import { formatTime } from '../ui/format';

export function MyComplaints() {
  const { t } = useTranslation();
  const { data, loading, error, fetchMore } = useQuery(MyComplaintsDocument, { variables: { first: 50 } });
  return (
    <Page title={t('complaints.title')} wide>
      {loading && !data && <Loading />}
      {error && <Notice kind="error">{t('errors.loadFailed')}</Notice>}
      {data && data.complaints.edges.length === 0 && <p>{t('complaints.empty')}</p>}
      {data && data.complaints.edges.length > 0 && (
        <>
          <p role="status">{t('complaints.count', { count: data.complaints.totalCount })}</p>
          <div className="table-wrap" tabIndex={0} role="region" aria-label={t('complaints.title')}>
            <table>
              <thead>
                <tr><th scope="col">{t('complaints.submittedAt')}</th><th scope="col">{t('complaints.violations')}</th><th scope="col">{t('complaints.channel')}</th><th scope="col">{t('complaints.status')}</th><th scope="col">{t('complaints.updatedAt')}</th></tr>
              </thead>
              <tbody>
                {data.complaints.edges.map(({ node: c }) => (
                  <tr key={c.id}>
                    <td>{formatTime(c.submittedAt)}</td>
                    <td>{c.violations.map((v) => v.label).join(', ')}</td>
                    <td>{t('Channel.' + c.channel)}</td>
                    <td><span className="tag">{t('complaintStatus.' + c.status, { defaultValue: c.status })}</span></td>
                    <td>{formatTime(c.updatedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {data.complaints.pageInfo.hasNextPage && (
            <button type="button" className="button button--secondary" onClick={() => void fetchMore({
              variables: { after: data.complaints.pageInfo.endCursor },
              updateQuery: (prev, { fetchMoreResult }) => ({ complaints: { ...fetchMoreResult.complaints, edges: [...prev.complaints.edges, ...fetchMoreResult.complaints.edges] } }),
            })}>{t('common.more')}</button>
          )}
        </>
      )}
    </Page>
  );
}
