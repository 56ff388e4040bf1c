// Reference data (taxonomy, departments, entry points) in the console's
// language, fetched once per language.
import { useQuery } from '@apollo/client/react';
import { ReferenceDocument } from '../gql/graphql';

export function useReference() {
  const { data, loading, error } = useQuery(ReferenceDocument, { fetchPolicy: 'cache-first' });
  return { ref: data, loading, error };
}
