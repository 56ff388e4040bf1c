// Intake at a border post: a complaint in three steps (what happened, who
// complains, review), then the tracking code, large, with its QR code.
// Without a connection the complaint is kept on the device, encrypted, and
// sent when the connection returns (see queue.ts and Outbox.tsx).
import { useMemo, useState } from 'react';
import { useApolloClient } from '@apollo/client/react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../auth/SessionProvider';
import { Choices, SelectField, TextField } from '../ui/Field';
import { ErrorSummary } from '../ui/ErrorSummary';
import type { FieldErrors } from '../ui/errors';
import { Loading, Notice, Page } from '../ui/Page';
import { useReference } from '../ui/useReference';
import { channels, complainantKinds, options } from '../ui/enums';
import { formatDate, guatemalaToday } from '../ui/format';
import { emptyComplaint, fromComplaintInput, stepOf, steps, toComplaintInput, validateStep, type ComplaintState, type Step } from './complaintForm';
import { enqueue, hasPassphrase, isUnlocked } from './queue';
import { OUTBOX_CHANGED, sendComplaint } from './send';
import { Passphrase } from './Passphrase';
import { useCorrection } from './useCorrection';
import type { SubmitComplaintInput } from '../gql/graphql';
import { TrackingCode } from './TrackingCode';

type Outcome = { kind: 'sent'; code: string } | { kind: 'queued' } | { kind: 'locked'; creating: boolean } | null;

export function Intake() {
  const { t } = useTranslation();
  const client = useApolloClient();
  const { me } = useSession();
  const ownerId = me?.user.id ?? '';
  const { ref, loading } = useReference();
  const [s, setS] = useState<ComplaintState>(emptyComplaint());
  const [step, setStep] = useState<Step>('what');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [key, setKey] = useState<string>(() => crypto.randomUUID());
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const set = <K extends keyof ComplaintState>(k: K) => (v: ComplaintState[K]) => setS((p) => ({ ...p, [k]: v }));
  const today = guatemalaToday();
  // A complaint the server refused, opened from the outbox to correct it:
  // on the step of the first field it names, or the review.
  const correction = useCorrection<SubmitComplaintInput>(ownerId, 'complaint', (input, refusal) => {
    setOutcome(null); // the form again, even from the page that said it was kept
    setS(fromComplaintInput(input));
    setKey(input.idempotencyKey);
    const fields = refusal?.fields ?? {};
    const first = Object.keys(fields)[0];
    setErrors(fields);
    setGeneral(refusal?.message ? [refusal.message] : []);
    setStep(first ? stepOf(first) : 'review');
  });

  const byCategory = useMemo(() => {
    const groups = new Map<string, { label: string; options: { value: string; label: string }[] }>();
    for (const v of ref?.violationTypes ?? []) {
      const g = groups.get(v.category.code) ?? { label: v.category.label, options: [] };
      g.options.push({ value: v.code, label: v.label });
      groups.set(v.category.code, g);
    }
    return [...groups.entries()];
  }, [ref]);

  const check = (st: Step) => {
    const e = validateStep(st, s, today);
    setErrors(Object.fromEntries(Object.entries(e).map(([k, v]) => [k, t(v)])));
    setGeneral([]);
    return Object.keys(e).length === 0;
  };
  const next = (e: React.FormEvent) => {
    e.preventDefault();
    if (!check(step)) return;
    setStep(steps[steps.indexOf(step) + 1] ?? 'review');
  };

  const keep = async () => {
    await enqueue(ownerId, toComplaintInput(s, key));
    window.dispatchEvent(new Event(OUTBOX_CHANGED));
    setOutcome({ kind: 'queued' });
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!check('review')) return;
    setBusy(true);
    const r = await sendComplaint(client, toComplaintInput(s, key));
    setBusy(false);
    if (r.kind === 'sent') { await correction.sent(); setOutcome({ kind: 'sent', code: r.trackingCode ?? '' }); return; }
    if (r.kind === 'refused') {
      await correction.refused(r);
      // The server's field errors, at their fields, on the step they belong to.
      const first = Object.keys(r.fields)[0];
      setErrors(r.fields);
      setGeneral(first ? [] : [r.message]);
      if (first) setStep(stepOf(first));
      return;
    }
    // No connection: keep it on the device, encrypted.
    if (isUnlocked(ownerId)) await keep();
    else setOutcome({ kind: 'locked', creating: !(await hasPassphrase(ownerId)) });
  };

  const restart = () => { setS(emptyComplaint()); setStep('what'); setKey(crypto.randomUUID()); setOutcome(null); setErrors({}); setGeneral([]); };

  if (loading && !ref) return <Page title={t('intake.title')}><Loading /></Page>;

  if (outcome?.kind === 'sent') {
    return (
      <Page title={t('intake.sentTitle')}>
        <Notice kind="success">{t('intake.sent')}</Notice>
        <TrackingCode code={outcome.code} />
        <button type="button" className="button no-print" onClick={restart}>{t('intake.another')}</button>
      </Page>
    );
  }
  if (outcome?.kind === 'queued') {
    return (
      <Page title={t('intake.queuedTitle')}>
        <Notice kind="warning">{t('intake.queued')}</Notice>
        <button type="button" className="button" onClick={restart}>{t('intake.another')}</button>
      </Page>
    );
  }
  if (outcome?.kind === 'locked') {
    return (
      <Page title={t('intake.offlineTitle')}>
        <Notice kind="warning">{t('intake.offline')}</Notice>
        <Passphrase ownerId={ownerId} creating={outcome.creating} onUnlocked={() => void keep()} />
      </Page>
    );
  }

  const stepNo = steps.indexOf(step) + 1;
  const err = (p: string) => errors[p];
  return (
    <Page title={t('intake.title')}>
      <p className="step-count">{t('intake.stepOf', { n: stepNo, total: steps.length })}: {t('intake.step.' + step)}</p>
      {correction.entry && <Notice kind="info">{t('outbox.correcting')}</Notice>}
      <ErrorSummary fields={errors} general={general} />
      {step === 'what' && (
        <form onSubmit={next} noValidate>
          <fieldset className="field" id="f-violations" tabIndex={-1} aria-describedby={err('violations') ? 'f-violations-error' : undefined}>
            <legend className="field__label">{t('intake.violations')}</legend>
            {err('violations') && <p id="f-violations-error" className="field__error">{err('violations')}</p>}
            {byCategory.map(([code, g]) => (
              <details key={code} className="category" open={g.options.some((o) => s.violations.includes(o.value))}>
                <summary>{g.label}</summary>
                <div className="choices">
                  {g.options.map((o) => {
                    const checked = s.violations.includes(o.value);
                    return (
                      <div className="choice" key={o.value}>
                        <input id={'v-' + o.value} type="checkbox" checked={checked}
                          onChange={() => set('violations')(checked ? s.violations.filter((x) => x !== o.value) : [...s.violations, o.value])} />
                        <label htmlFor={'v-' + o.value}>{o.label}</label>
                      </div>
                    );
                  })}
                </div>
              </details>
            ))}
          </fieldset>
          <TextField path="description" multiline label={t('intake.description')} hint={t('intake.descriptionHint')} value={s.description} onChange={set('description')} error={err('description')} />
          <TextField path="occurredOn" type="date" label={t('intake.occurredOn')} value={s.occurredOn} onChange={set('occurredOn')} error={err('occurredOn')} />
          <SelectField path="departmentCode" label={t('fileCase.department')} placeholder={t('common.none')} options={(ref?.departments ?? []).map((d) => ({ value: d.code, label: d.name }))} value={s.departmentCode} onChange={set('departmentCode')} error={err('departmentCode')} />
          <SelectField path="entryPoint" label={t('fileCase.entryPoint')} placeholder={t('common.none')} options={(ref?.entryPoints ?? []).map((x) => ({ value: x.code, label: x.name }))} value={s.entryPoint} onChange={set('entryPoint')} error={err('entryPoint')} />
          <button type="submit" className="button">{t('common.continue')}</button>
        </form>
      )}
      {step === 'who' && (
        <form onSubmit={next} noValidate>
          <Choices path="complainant.kind" label={t('intake.kind')} options={options(complainantKinds, 'ComplainantKind', t)} value={s.kind ? [s.kind] : []} onChange={(v) => set('kind')(v[0] ?? '')} error={err('complainant.kind')} />
          {s.kind && s.kind !== 'ANONYMOUS' && (
            <>
              <TextField path="complainant.name" label={t('intake.name')} value={s.name} onChange={set('name')} error={err('complainant.name')} />
              <TextField path="complainant.contact" label={t('intake.contact')} hint={t('intake.contactHint')} value={s.contact} onChange={set('contact')} error={err('complainant.contact')} />
            </>
          )}
          <Choices path="channel" label={t('intake.channel')} options={options(channels, 'Channel', t)} value={s.channel ? [s.channel] : []} onChange={(v) => set('channel')(v[0] ?? '')} error={err('channel')} />
          <div className="actions">
            <button type="button" className="button button--secondary" onClick={() => setStep('what')}>{t('common.back')}</button>
            <button type="submit" className="button">{t('common.continue')}</button>
          </div>
        </form>
      )}
      {step === 'review' && (
        <form onSubmit={(e) => void submit(e)} noValidate>
          <dl className="summary-list">
            <div className="summary-list__row"><dt>{t('intake.violations')}</dt><dd>{(ref?.violationTypes ?? []).filter((v) => s.violations.includes(v.code)).map((v) => v.label).join(', ')}</dd></div>
            <div className="summary-list__row"><dt>{t('intake.description')}</dt><dd className="prose">{s.description}</dd></div>
            {s.occurredOn && <div className="summary-list__row"><dt>{t('intake.occurredOn')}</dt><dd>{formatDate(s.occurredOn)}</dd></div>}
            <div className="summary-list__row"><dt>{t('intake.kind')}</dt><dd>{t('ComplainantKind.' + s.kind)}{s.name && s.kind !== 'ANONYMOUS' ? ` · ${s.name}` : ''}</dd></div>
            <div className="summary-list__row"><dt>{t('intake.channel')}</dt><dd>{t('Channel.' + s.channel)}</dd></div>
          </dl>
          <div className="actions">
            <button type="button" className="button button--secondary" onClick={() => setStep('who')}>{t('common.back')}</button>
            <button type="submit" className="button" disabled={busy}>{busy ? t('common.sending') : t('intake.submit')}</button>
          </div>
        </form>
      )}
    </Page>
  );
}
