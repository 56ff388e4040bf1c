// Reference data (taxonomy, departments, entry points) in the console's
// language, fetched once per language. It is public, so the last copy is
// kept in localStorage: a form opened without a connection still offers
// every choice.
import { useEffect } from 'react';
import { useQuery } from '@apollo/client/react';
import { ReferenceDocument, type ReferenceQuery } from '../gql/graphql';
import { currentLanguage } from '../i18n';

const key = () => `amparo.reference.${currentLanguage()}`;

function cached(): ReferenceQuery | undefined {
  try {
    const raw = localStorage.getItem(key());
    return raw ? (JSON.parse(raw) as ReferenceQuery) : undefined;
  } catch {
    return undefined;
  }
}

export function useReference() {
  const { data, loading, error } = useQuery(ReferenceDocument, { fetchPolicy: 'cache-first' });
  useEffect(() => {
    if (data) localStorage.setItem(key(), JSON.stringify(data));
  }, [data]);
  const ref = data ?? (error || !navigator.onLine ? cached() : undefined);
  return { ref, loading: loading && !ref, error: ref ? undefined : error };
}
