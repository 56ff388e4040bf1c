// The case page: summary, the child (without identity), violations, notes,
// evidence; the identity only behind an action that says it is audited.
import { useState } from 'react';
import { useApolloClient, useMutation, useQuery } from '@apollo/client/react';
import { useLocation, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import {
  AddCaseNoteDocument, CaseIdentityDocument, CasePageDocument, RequestEvidenceDownloadDocument, RevealIdentityDocument,
  type CaseIdentityQuery,
} from '../gql/graphql';
import { useSession } from '../auth/SessionProvider';
import { Loading, Notice, Page } from '../ui/Page';
import { TextField } from '../ui/Field';
import { ErrorSummary } from '../ui/ErrorSummary';
import { problemsOf, type FieldErrors } from '../ui/errors';
import { formatBytes, formatDate, formatTime, relativeDue } from '../ui/format';
import { EvidenceUpload } from './EvidenceUpload';
import { Assignment, Timeline, Workflow } from './Workflow';
import { ReferCase } from '../referrals/ReferCase';
import { PossibleDuplicates } from './PossibleDuplicates';

type Identity = NonNullable<NonNullable<CaseIdentityQuery['case']>['child']['identity']>;

function Term({ label, children }: { label: string; children: React.ReactNode }) {
  return <div className="summary-list__row"><dt>{label}</dt><dd>{children}</dd></div>;
}

function IdentityView({ identity }: { identity: Identity }) {
  const { t } = useTranslation();
  return (
    <dl className="summary-list" aria-label={t('identity.title')}>
      <Term label={t('fileCase.givenName')}>{identity.givenName ?? '—'}</Term>
      <Term label={t('fileCase.familyName')}>{identity.familyName ?? '—'}</Term>
      <Term label={t('fileCase.dateOfBirth')}>{identity.dateOfBirth ? formatDate(identity.dateOfBirth) : '—'}{identity.dateOfBirthEstimated ? ` (${t('identity.estimated')})` : ''}</Term>
      <Term label={t('fileCase.contact')}>{identity.contact ?? '—'}</Term>
    </dl>
  );
}

function ShowIdentity({ caseId }: { caseId: string }) {
  const { t } = useTranslation();
  const client = useApolloClient();
  const [identity, setIdentity] = useState<Identity | null>(null);
  const [error, setError] = useState<string | null>(null);
  const show = async () => {
    setError(null);
    try {
      // network-only, never cached: every read is the server's to audit.
      const r = await client.query({ query: CaseIdentityDocument, variables: { id: caseId }, fetchPolicy: 'network-only', errorPolicy: 'all' });
      const id = r.data?.case?.child.identity;
      if (id) setIdentity(id);
      else setError(t('identity.forbidden'));
    } catch {
      setError(t('errors.network'));
    }
  };
  return (
    <section aria-labelledby="s-identity">
      <h2 id="s-identity">{t('identity.title')}</h2>
      {identity ? (
        <>
          <IdentityView identity={identity} />
          <button type="button" className="button button--secondary" onClick={() => setIdentity(null)}>{t('identity.hide')}</button>
        </>
      ) : (
        <>
          <p>{t('identity.audited')}</p>
          <button type="button" className="button button--warning" onClick={() => void show()}>{t('identity.show')}</button>
        </>
      )}
      {error && <Notice kind="error">{error}</Notice>}
    </section>
  );
}

function RevealIdentity({ caseId }: { caseId: string }) {
  const { t } = useTranslation();
  const [justification, setJustification] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [identity, setIdentity] = useState<Identity | null>(null);
  const [reveal, { loading }] = useMutation(RevealIdentityDocument);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (justification.trim().length < 20) { setErrors({ justification: t('identity.justificationShort') }); setGeneral([]); return; }
    try {
      const r = await reveal({ variables: { input: { caseId, justification: justification.trim() } } });
      if (r.data) { setIdentity(r.data.revealIdentity); setErrors({}); setGeneral([]); }
    } catch (err) {
      const p = problemsOf(err);
      setErrors(p.fields);
      setGeneral(p.network ? [t('errors.network')] : p.general);
    }
  };
  return (
    <section aria-labelledby="s-reveal">
      <h2 id="s-reveal">{t('identity.revealTitle')}</h2>
      {identity ? <IdentityView identity={identity} /> : (
        <form onSubmit={(e) => void submit(e)} noValidate>
          <p>{t('identity.revealAudited')}</p>
          <ErrorSummary fields={errors} general={general} />
          <TextField path="justification" multiline label={t('identity.justification')} hint={t('identity.justificationHint')} value={justification} onChange={setJustification} error={errors.justification} />
          <button type="submit" className="button button--warning" disabled={loading}>{t('identity.reveal')}</button>
        </form>
      )}
    </section>
  );
}

function AddNote({ caseId, onAdded }: { caseId: string; onAdded: () => void }) {
  const { t } = useTranslation();
  const [text, setText] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [add, { loading }] = useMutation(AddCaseNoteDocument);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!text.trim()) { setErrors({ text: t('notes.empty') }); setGeneral([]); return; }
    try {
      await add({ variables: { input: { caseId, text: text.trim() } } });
      setText(''); setErrors({}); setGeneral([]);
      onAdded();
    } catch (err) {
      const p = problemsOf(err);
      setErrors(p.fields);
      setGeneral(p.network ? [t('errors.network')] : p.general);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <ErrorSummary fields={errors} general={general} />
      <TextField path="text" multiline label={t('notes.new')} value={text} onChange={setText} error={errors.text} />
      <button type="submit" className="button" disabled={loading}>{t('notes.add')}</button>
    </form>
  );
}

export function CasePage() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const location = useLocation();
  const state = location.state as { filed?: string; duplicates?: string[] } | null;
  const filed = state?.filed;
  const duplicates = state?.duplicates ?? [];
  const { can } = useSession();
  const { data, loading, error, refetch } = useQuery(CasePageDocument, { variables: { id }, errorPolicy: 'all' });
  const [download] = useMutation(RequestEvidenceDownloadDocument);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const c = data?.case;

  if (loading && !c) return <Page title={t('case.title')}><Loading /></Page>;
  if (!c) return <Page title={t('case.notFound')}><Notice kind="error">{error ? problemsOf(error).general[0] ?? t('case.notFound') : t('case.notFound')}</Notice></Page>;

  const fetchDownload = async (evidenceId: string) => {
    setDownloadError(null);
    try {
      const r = await download({ variables: { evidenceId } });
      if (r.data) window.location.assign(r.data.requestEvidenceDownload.url);
    } catch (err) {
      setDownloadError(problemsOf(err).general[0] ?? t('errors.network'));
    }
  };

  return (
    <Page title={t('case.titleRef', { reference: c.reference })} wide>
      {filed && <Notice kind="success">{t('case.filed', { reference: filed })}</Notice>}
      {duplicates.length > 0 && <PossibleDuplicates references={duplicates} />}
      <div className="columns">
        <div>
          <section aria-labelledby="s-summary">
            <h2 id="s-summary">{t('case.summary')}</h2>
            <dl className="summary-list">
              <Term label={t('case.status')}>{t('caseStatus.' + c.status, { defaultValue: c.status })}</Term>
              <Term label={t('fileCase.urgency')}>{t('urgency.' + c.urgency)}</Term>
              {c.dueAt && <Term label={t('case.dueAt')}>{formatTime(c.dueAt)} ({relativeDue(c.dueAt)})</Term>}
              <Term label={t('case.institution')}>{c.institution.name}</Term>
              <Term label={t('fileCase.department')}>{c.department.name}</Term>
              {c.entryPoint && <Term label={t('fileCase.entryPoint')}>{c.entryPoint}</Term>}
              <Term label={t('case.createdAt')}>{formatTime(c.createdAt)}</Term>
            </dl>
            <p className="prose">{c.summary}</p>
          </section>
          <Workflow c={c} onChanged={() => void refetch()} />
          <Assignment c={c} onChanged={() => void refetch()} />
          <section aria-labelledby="s-child">
            <h2 id="s-child">{t('fileCase.child')}</h2>
            <dl className="summary-list">
              <Term label={t('case.ageBand')}>{c.child.ageBand ? t('ageBand.' + c.child.ageBand) : '—'}{c.child.ageYears != null ? ` · ${t('case.years', { count: c.child.ageYears })}` : ''}</Term>
              <Term label={t('fileCase.sex')}>{t('Sex.' + c.child.sex)}</Term>
              <Term label={t('fileCase.nationality')}>{t('nationality.' + c.child.nationality, { defaultValue: c.child.nationality })}</Term>
              <Term label={t('fileCase.populationStatus')}>{t('PopulationStatus.' + c.child.populationStatus)}</Term>
              <Term label={t('fileCase.careStatus')}>{t('CareStatus.' + c.child.careStatus)}</Term>
            </dl>
          </section>
          {can('identity:reveal') ? <RevealIdentity caseId={c.id} /> : can('identity:read') ? <ShowIdentity caseId={c.id} /> : null}
          <section aria-labelledby="s-violations">
            <h2 id="s-violations">{t('fileCase.violations')}</h2>
            <ul className="plain-list">
              {c.violations.map((v, i) => (
                <li key={i}>
                  <strong>{v.type.label}</strong> <span className="muted">({v.type.category.label})</span>
                  <div className="muted">
                    {[v.occurredOn && formatDate(v.occurredOn), v.journeyStage && t('JourneyStage.' + v.journeyStage), v.perpetratorType && t('PerpetratorType.' + v.perpetratorType)].filter(Boolean).join(' · ')}
                  </div>
                  {v.description && <p className="prose">{v.description}</p>}
                </li>
              ))}
            </ul>
          </section>
        </div>
        <div>
          <Timeline c={c} />
          {(can('referral:read') || can('case:refer')) && <ReferCase caseId={c.id} institution={c.institution.code} />}
          <section aria-labelledby="s-notes">
            <h2 id="s-notes">{t('notes.title')}</h2>
            {c.notes.length === 0 && <p>{t('notes.none')}</p>}
            <ol className="plain-list notes">
              {c.notes.map((n) => (
                <li key={n.id}><p className="prose">{n.text}</p><p className="muted">{formatTime(n.createdAt)}</p></li>
              ))}
            </ol>
            {can('note:add') && <AddNote caseId={c.id} onAdded={() => void refetch()} />}
          </section>
          <section aria-labelledby="s-evidence">
            <h2 id="s-evidence">{t('evidence.title')}</h2>
            {c.evidence.length === 0 && <p>{t('evidence.none')}</p>}
            <ul className="plain-list">
              {c.evidence.map((ev) => (
                <li key={ev.id}>
                  <strong>{ev.filename}</strong> <span className="muted">{ev.contentType} · {formatBytes(ev.size)} · {formatTime(ev.uploadedAt)}</span>
                  {ev.description && <p>{ev.description}</p>}
                  <p className="muted mono">SHA-256 {ev.sha256}</p>
                  {can('evidence:download') && (
                    <button type="button" className="button button--secondary" onClick={() => void fetchDownload(ev.id)} aria-label={t('evidence.downloadName', { name: ev.filename })}>
                      {t('evidence.download')}
                    </button>
                  )}
                </li>
              ))}
            </ul>
            {downloadError && <Notice kind="error">{downloadError}</Notice>}
            {can('evidence:upload') && <EvidenceUpload caseId={c.id} onUploaded={() => void refetch()} />}
          </section>
        </div>
      </div>
    </Page>
  );
}
