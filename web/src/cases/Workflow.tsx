// The case's place in the workflow and who works it, on the case page:
// the moves the person may make (each with the reason it needs), the
// supervisor's decision on a closure, and assignment.
import { useState } from 'react';
import { useMutation } from '@apollo/client/react';
import { useTranslation } from 'react-i18next';
import { AssignCaseDocument, TransitionCaseDocument, type CasePageQuery } from '../gql/graphql';
import { useSession } from '../auth/SessionProvider';
import { Choices, SelectField, TextField } from '../ui/Field';
import { ErrorSummary } from '../ui/ErrorSummary';
import { Notice } from '../ui/Page';
import { problemsOf, type FieldErrors } from '../ui/errors';
import { options } from '../ui/enums';
import { formatTime } from '../ui/format';
import { closureReasons, movesFrom, validateMove } from './workflow';

type Case = NonNullable<CasePageQuery['case']>;

/** useProblems is the error state every small form of the case page keeps. */
function useProblems() {
  const { t } = useTranslation();
  const [fields, setFields] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string[]>([]);
  return {
    fields, general,
    clear: () => { setFields({}); setGeneral([]); },
    local: (e: Record<string, string>) => { setFields(Object.fromEntries(Object.entries(e).map(([k, v]) => [k, t(v)]))); setGeneral([]); },
    server: (err: unknown) => {
      const p = problemsOf(err);
      setFields(p.fields);
      setGeneral(p.network ? [t('errors.network')] : p.codes.includes('CONFLICT') ? [t('workflow.conflict')] : p.general);
    },
  };
}

export function Workflow({ c, onChanged }: { c: Case; onChanged: () => void }) {
  const { t } = useTranslation();
  const { can } = useSession();
  const moves = movesFrom(c.status, can);
  const [choice, setChoice] = useState('');
  const [reason, setReason] = useState('');
  const [closureReason, setClosureReason] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const problems = useProblems();
  const [transition, { loading }] = useMutation(TransitionCaseDocument);
  const move = moves.find((m) => m.kind + ':' + m.to === choice);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const local = validateMove(move, reason, closureReason);
    if (!move || Object.keys(local).length) { problems.local(local); return; }
    try {
      await transition({ variables: { input: {
        caseId: c.id, to: move.to, expectedVersion: c.version,
        reason: reason.trim() || undefined, closureReason: move.closureReason ? closureReason : undefined,
      } } });
      problems.clear();
      setDone(t('workflow.done.' + move.kind, { status: t('caseStatus.' + move.to) }));
      setChoice(''); setReason(''); setClosureReason('');
      onChanged();
    } catch (err) {
      problems.server(err);
      if (problemsOf(err).codes.includes('CONFLICT')) onChanged();
    }
  };

  return (
    <section aria-labelledby="s-workflow">
      <h2 id="s-workflow">{t('workflow.title')}</h2>
      <dl className="summary-list">
        <div className="summary-list__row"><dt>{t('case.status')}</dt><dd><span className="tag">{t('caseStatus.' + c.status, { defaultValue: c.status })}</span></dd></div>
        {c.closureReason && <div className="summary-list__row"><dt>{t('workflow.closureReason')}</dt><dd>{t('closureReason.' + c.closureReason, { defaultValue: c.closureReason })}</dd></div>}
        {c.dueAt && <div className="summary-list__row"><dt>{t('case.dueAt')}</dt><dd>{formatTime(c.dueAt)}{c.overdue && <> · <strong className="text-error">{t('workflow.overdue')}</strong></>}</dd></div>}
      </dl>
      {done && <Notice kind="success">{done}</Notice>}
      {c.status === 'CLOSURE_REQUESTED' && !can('case:close') && <p>{t('workflow.awaitingApproval')}</p>}
      {moves.length > 0 && (
        <form onSubmit={(e) => void submit(e)} noValidate>
          <ErrorSummary fields={problems.fields} general={problems.general} />
          <Choices path="to" label={t('workflow.next')} value={choice ? [choice] : []} onChange={(v) => { setChoice(v[0] ?? ''); setDone(null); }}
            error={problems.fields.to}
            options={moves.map((m) => ({ value: m.kind + ':' + m.to, label: t('workflow.actions.' + m.kind, { status: t('caseStatus.' + m.to) }) }))} />
          {move?.closureReason && (
            <SelectField path="closureReason" label={t('workflow.closureReason')} hint={t('workflow.closureReasonHint')} placeholder={t('common.choose')}
              options={options(closureReasons, 'closureReason', t)} value={closureReason} onChange={setClosureReason} error={problems.fields.closureReason} />
          )}
          {move && (
            <TextField path="reason" multiline label={move.reason ? t('workflow.reasonRequired') : t('workflow.reasonOptional')}
              hint={t('workflow.reasonHint')} value={reason} onChange={setReason} error={problems.fields.reason} />
          )}
          <button type="submit" className="button" disabled={loading}>{loading ? t('common.sending') : t('workflow.submit')}</button>
        </form>
      )}
    </section>
  );
}

export function Assignment({ c, onChanged }: { c: Case; onChanged: () => void }) {
  const { t } = useTranslation();
  const { can, me } = useSession();
  const [email, setEmail] = useState('');
  const [done, setDone] = useState<string | null>(null);
  const problems = useProblems();
  const [assign, { loading }] = useMutation(AssignCaseDocument);
  const mine = !!me && c.assignee?.id === me.user.id;
  const canTake = can('case:take') && !mine && (can('case:assign') || !c.assignee);

  const run = async (to: string) => {
    try {
      const r = await assign({ variables: { input: { caseId: c.id, assigneeEmail: to, expectedVersion: c.version } } });
      problems.clear();
      setEmail('');
      setDone(t('assign.done', { name: r.data?.assignCase.case.assignee?.name ?? to }));
      onChanged();
    } catch (err) {
      problems.server(err);
    }
  };
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (!email.trim()) { problems.local({ assigneeEmail: 'assign.errors.email' }); return; }
    void run(email.trim());
  };

  return (
    <section aria-labelledby="s-assign">
      <h2 id="s-assign">{t('assign.title')}</h2>
      <p>{c.assignee ? t('assign.current', { name: c.assignee.name, email: c.assignee.email }) : t('assign.none')}</p>
      {done && <Notice kind="success">{done}</Notice>}
      {(canTake || can('case:assign')) && <ErrorSummary fields={problems.fields} general={problems.general} />}
      {canTake && me && (
        <button type="button" className="button" disabled={loading} onClick={() => void run(me.user.email)}>{t('assign.take')}</button>
      )}
      {can('case:assign') && (
        <form onSubmit={submit} noValidate>
          <TextField path="assigneeEmail" type="email" autoComplete="off" label={t('assign.email')} hint={t('assign.emailHint')}
            value={email} onChange={setEmail} error={problems.fields.assigneeEmail} />
          <button type="submit" className="button button--secondary" disabled={loading}>{t('assign.submit')}</button>
        </form>
      )}
    </section>
  );
}

export function Timeline({ c }: { c: Case }) {
  const { t } = useTranslation();
  return (
    <section aria-labelledby="s-timeline">
      <h2 id="s-timeline">{t('timeline.title')}</h2>
      {c.timeline.length === 0 ? <p>{t('timeline.none')}</p> : (
        <ol className="plain-list timeline">
          {[...c.timeline].reverse().map((e, i) => (
            <li key={i}>
              <span className="tag">{t('timeline.kinds.' + e.kind, { defaultValue: e.kind })}</span> {e.summary}
              <div className="muted">{formatTime(e.at)}{e.actor ? ` · ${e.actor.name}` : ''}</div>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
