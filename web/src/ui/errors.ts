// Server errors, sorted for a form: BAD_USER_INPUT errors go to the field
// their extensions.field names (GOV.UK pattern: summary at the top and the
// message at the field); anything else is a message for the whole form.
import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';

export type FieldErrors = Record<string, string>;

/**
 * network: no GraphQL answer came back (no connection, or an HTTP failure
 * whose body is not GraphQL); status is the HTTP status when one came.
 */
export type Problems = { fields: FieldErrors; general: string[]; codes: string[]; network: boolean; status?: number };

type GraphQLErrorLike = { message: string; extensions?: Record<string, unknown> | undefined };

/** sortErrors splits GraphQL errors into field errors and general ones. */
export function sortErrors(errors: readonly GraphQLErrorLike[]): Problems {
  const out: Problems = { fields: {}, general: [], codes: [], network: false };
  for (const e of errors) {
    const code = typeof e.extensions?.code === 'string' ? e.extensions.code : 'INTERNAL';
    out.codes.push(code);
    const field = e.extensions?.field;
    if (code === 'BAD_USER_INPUT' && typeof field === 'string' && field !== '') {
      if (!(field in out.fields)) out.fields[field] = e.message;
    } else {
      out.general.push(e.message);
    }
  }
  return out;
}

/** problemsOf reads whatever Apollo or fetch threw. */
export function problemsOf(error: unknown): Problems {
  if (CombinedGraphQLErrors.is(error)) return sortErrors(error.errors);
  if (ServerError.is(error)) {
    // An HTTP failure: its body may still be a GraphQL answer (Amparo's
    // are), or a proxy's page.
    try {
      const body = JSON.parse(error.bodyText) as { errors?: GraphQLErrorLike[] };
      if (Array.isArray(body.errors) && body.errors.length) return { ...sortErrors(body.errors), status: error.statusCode };
    } catch { /* not JSON */ }
    return { fields: {}, general: [], codes: [], network: true, status: error.statusCode };
  }
  return { fields: {}, general: [], codes: [], network: true };
}

/** fieldId is the DOM id of the input for a server field path such as violations[0].type. */
export function fieldId(path: string): string {
  return 'f-' + path.replace(/[^A-Za-z0-9]+/g, '-').replace(/-$/, '');
}
