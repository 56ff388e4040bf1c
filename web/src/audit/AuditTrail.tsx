// The audit trail for oversight (and supervisors, for their institution):
// newest first, filtered by action, object, institution and dates. Events
// hold ids and codes only.
import { useState } from 'react';
import { useApolloClient, useQuery } from '@apollo/client/react';
import { useTranslation } from 'react-i18next';
import { AuditEventsDocument, AuditProofDocument, type AuditEventFilter } from '../gql/graphql';
import { problemsOf } from '../ui/errors';
import { SelectField, TextField } from '../ui/Field';
import { Loading, Notice, Page } from '../ui/Page';
import { formatTime } from '../ui/format';

const objectTypes = ['case', 'complaint', 'evidence', 'note', 'identity', 'user', 'policy'];

type Form = { action: string; objectType: string; objectId: string; institution: string; after: string; before: string };

export function toAuditFilter(f: Form): AuditEventFilter {
  const out: AuditEventFilter = {};
  if (f.action.trim()) out.actions = f.action.split(',').map((a) => a.trim()).filter(Boolean);
  if (f.objectType) out.objectType = f.objectType;
  if (f.objectId.trim()) out.objectId = f.objectId.trim();
  if (f.institution.trim()) out.institution = f.institution.trim().toUpperCase();
  if (f.after) out.occurredAfter = new Date(f.after + 'T00:00:00').toISOString();
  if (f.before) out.occurredBefore = new Date(f.before + 'T23:59:59').toISOString();
  return out;
}

/**
 * saveProof downloads an event's inclusion proof as the JSON file that
 * `amparo audit verify-proof FILE` checks offline.
 */
function useSaveProof() {
  const client = useApolloClient();
  const { t } = useTranslation();
  const [error, setError] = useState<string | null>(null);
  const save = async (eventId: string) => {
    setError(null);
    try {
      const r = await client.query({ query: AuditProofDocument, variables: { eventId }, fetchPolicy: 'network-only' });
      const p = r.data?.auditProof;
      if (!p) { setError(t('audit.proofMissing')); return; }
      const { __typename: _, ...proof } = p as typeof p & { __typename?: string };
      const url = URL.createObjectURL(new Blob([JSON.stringify(proof, null, 2) + '\n'], { type: 'application/json' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `amparo-audit-proof-${eventId}.json`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      const p = problemsOf(err);
      setError(p.network ? t('errors.network') : (p.general[0] ?? t('errors.loadFailed')));
    }
  };
  return { save, error };
}

export function AuditTrail() {
  const { t } = useTranslation();
  const empty: Form = { action: '', objectType: '', objectId: '', institution: '', after: '', before: '' };
  const [form, setForm] = useState<Form>(empty);
  const [filter, setFilter] = useState<AuditEventFilter>({});
  const { data, loading, error, fetchMore } = useQuery(AuditEventsDocument, { variables: { filter, first: 50 } });
  const set = (k: keyof Form) => (v: string) => setForm((p) => ({ ...p, [k]: v }));
  const proof = useSaveProof();
  return (
    <Page title={t('audit.title')} wide>
      <details className="group">
        <summary>{t('audit.verifyTitle')}</summary>
        <p>{t('audit.verifyIntro')}</p>
        <ol>
          <li>{t('audit.verifyStep1')}</li>
          <li>{t('audit.verifyStep2')} <code className="mono">AMPARO_AUDIT_VERIFIER_KEY='…' amparo audit verify-proof amparo-audit-proof-ID.json</code></li>
          <li>{t('audit.verifyStep3')}</li>
        </ol>
      </details>
      <form className="filters" onSubmit={(e) => { e.preventDefault(); setFilter(toAuditFilter(form)); }}>
        <TextField path="audit.action" label={t('audit.action')} hint={t('audit.actionHint')} value={form.action} onChange={set('action')} />
        <SelectField path="audit.objectType" label={t('audit.objectType')} placeholder={t('common.all')} options={objectTypes.map((o) => ({ value: o, label: t('audit.objectTypes.' + o) }))} value={form.objectType} onChange={set('objectType')} />
        <TextField path="audit.objectId" label={t('audit.objectId')} value={form.objectId} onChange={set('objectId')} />
        <TextField path="audit.institution" label={t('audit.institution')} value={form.institution} onChange={set('institution')} />
        <TextField path="audit.after" type="date" label={t('audit.after')} value={form.after} onChange={set('after')} />
        <TextField path="audit.before" type="date" label={t('audit.before')} value={form.before} onChange={set('before')} />
        <div className="actions">
          <button type="submit" className="button">{t('audit.apply')}</button>
          <button type="button" className="button button--secondary" onClick={() => { setForm(empty); setFilter({}); }}>{t('audit.clear')}</button>
        </div>
      </form>
      {proof.error && <Notice kind="error">{proof.error}</Notice>}
      {loading && !data && <Loading />}
      {error && <Notice kind="error">{t('errors.loadFailed')}</Notice>}
      {data && (
        <>
          <p role="status">{t('audit.count', { count: data.auditEvents.totalCount })}</p>
          <div className="table-wrap" tabIndex={0} role="region" aria-label={t('audit.title')}>
            <table>
              <thead>
                <tr><th scope="col">{t('audit.when')}</th><th scope="col">{t('audit.actor')}</th><th scope="col">{t('audit.action')}</th><th scope="col">{t('audit.object')}</th><th scope="col">{t('audit.outcome')}</th><th scope="col">{t('audit.sealed')}</th></tr>
              </thead>
              <tbody>
                {data.auditEvents.edges.map(({ node: e }) => (
                  <tr key={e.id}>
                    <td>{formatTime(e.occurredAt)}</td>
                    <td>{e.actorInstitution}{e.actorRoles.length ? ` · ${e.actorRoles.map((r) => t('roles.' + r, { defaultValue: r })).join(', ')}` : ''}</td>
                    <td className="mono">{e.action}</td>
                    <td>{t('audit.objectTypes.' + e.objectType, { defaultValue: e.objectType })} <span className="mono muted">{e.objectId.slice(0, 8)}</span></td>
                    <td><span className={'tag' + (e.outcome === 'DENIED' ? ' tag--denied' : '')}>{t('audit.outcomes.' + e.outcome, { defaultValue: e.outcome })}</span></td>
                    <td>
                      {e.leafIndex != null ? t('audit.leaf', { n: e.leafIndex }) : t('audit.unsealed')}
                      {e.leafIndex != null && (
                        <> <button type="button" className="link-button" onClick={() => void proof.save(e.id)}>
                          {t('audit.proof')}<span className="visually-hidden"> {t('audit.ofEvent', { id: e.id })}</span>
                        </button></>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {data.auditEvents.pageInfo.hasNextPage && (
            <button type="button" className="button button--secondary" onClick={() => void fetchMore({
              variables: { after: data.auditEvents.pageInfo.endCursor },
              updateQuery: (prev, { fetchMoreResult }) => ({ auditEvents: { ...fetchMoreResult.auditEvents, edges: [...prev.auditEvents.edges, ...fetchMoreResult.auditEvents.edges] } }),
            })}>{t('common.more')}</button>
          )}
        </>
      )}
    </Page>
  );
}
