// Admin: the accounts and their roles. Nothing of any case is shown here,
// nor can be: admins hold no case permission.
import { useQuery } from '@apollo/client/react';
import { useTranslation } from 'react-i18next';
import { UsersDocument } from '../gql/graphql';
import { Loading, Notice, Page } from '../ui/Page';
import { formatDate } from '../ui/format';

export function Users() {
  const { t } = useTranslation();
  const { data, loading, error } = useQuery(UsersDocument);
  return (
    <Page title={t('users.title')} wide>
      {loading && !data && <Loading />}
      {error && <Notice kind="error">{t('errors.loadFailed')}</Notice>}
      {data && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label={t('users.title')}>
          <table>
            <thead>
              <tr><th scope="col">{t('users.name')}</th><th scope="col">{t('users.email')}</th><th scope="col">{t('users.institution')}</th><th scope="col">{t('users.roles')}</th><th scope="col">{t('users.state')}</th></tr>
            </thead>
            <tbody>
              {data.users.map((u) => (
                <tr key={u.id}>
                  <td>{u.name}</td>
                  <td>{u.email}</td>
                  <td>{u.institution?.name ?? t('signIn.system')}</td>
                  <td>{u.roles.map((r) => t('roles.' + r, { defaultValue: r })).join(', ')}</td>
                  <td>{u.disabledAt ? t('users.disabled', { date: formatDate(u.disabledAt) }) : t('users.active')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}
