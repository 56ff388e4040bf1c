// The warning after filing a case whose child has the same name and birth
// year (give or take one) as a child in other cases the filer may read: the
// server names the cases, never the child. Each reference links to its case.
import { useQuery } from '@apollo/client/react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { CaseByReferenceDocument } from '../gql/graphql';

function CaseLink({ reference }: { reference: string }) {
  const { data } = useQuery(CaseByReferenceDocument, { variables: { reference } });
  const c = data?.cases.edges[0]?.node;
  return c ? <Link to={`/casos/${c.id}`}>{reference}</Link> : <strong>{reference}</strong>;
}

export function PossibleDuplicates({ references }: { references: string[] }) {
  const { t } = useTranslation();
  return (
    <div className="notice notice--warning" role="alert" aria-labelledby="dup-title">
      <h2 id="dup-title">{t('duplicates.title')}</h2>
      <p>{t('duplicates.body', { count: references.length })}</p>
      <ul>{references.map((r) => <li key={r}><CaseLink reference={r} /></li>)}</ul>
      <p>{t('duplicates.next')}</p>
    </div>
  );
}
