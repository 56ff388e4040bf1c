// File a case: a guided form over the taxonomy, departments and entry points
// (in the console's language). Checked here first, then by the server, whose
// field errors are shown at their fields and summarized at the top.
import { useMemo, useState } from 'react';
import type { FileCaseInput } from '../gql/graphql';
import { useApolloClient } from '@apollo/client/react';
import { useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useSession } from '../auth/SessionProvider';
import { enqueue, hasPassphrase, isUnlocked } from '../complaints/queue';
import { OUTBOX_CHANGED, sendCase } from '../complaints/send';
import { Passphrase } from '../complaints/Passphrase';
import { useCorrection } from '../complaints/useCorrection';
import { Choices, SelectField, TextField } from '../ui/Field';
import { ErrorSummary } from '../ui/ErrorSummary';
import type { FieldErrors } from '../ui/errors';
import { Loading, Notice, Page } from '../ui/Page';
import { useReference } from '../ui/useReference';
import { guatemalaToday } from '../ui/format';
import { careStatuses, journeyStages, nationalities, options, perpetratorTypes, populationStatuses, sexes, urgencies } from '../ui/enums';
import { emptyFileCase, emptyViolation, fromFileCaseInput, toFileCaseInput, validateFileCase, type FileCaseState, type ViolationState } from './fileCaseForm';

export function FileCase() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const { ref, loading } = useReference();
  const [s, setS] = useState<FileCaseState>(emptyFileCase());
  const [errors, setErrors] = useState<FieldErrors>({});
  const [general, setGeneral] = useState<string[]>([]);
  // One key per form: a retry after a lost answer, or a send from the
  // outbox, files the case once.
  const [key, setKey] = useState<string>(() => crypto.randomUUID());
  const client = useApolloClient();
  const { me } = useSession();
  const ownerId = me?.user.id ?? '';
  const [sending, setSending] = useState(false);
  // Without a connection the case waits in the device's encrypted outbox.
  const [offline, setOffline] = useState<null | 'locked' | 'creating' | 'queued'>(null);
  // A case the server refused, opened from the outbox to correct it.
  const correction = useCorrection<FileCaseInput>(ownerId, 'case', (input, refusal) => {
    setOffline(null); // the form again, even from the page that said it was kept
    setS(fromFileCaseInput(input));
    setKey(input.idempotencyKey);
    setErrors(refusal?.fields ?? {});
    setGeneral(refusal?.message ? [refusal.message] : []);
  });

  const set = <K extends keyof FileCaseState>(k: K) => (v: FileCaseState[K]) => setS((p) => ({ ...p, [k]: v }));
  const setViolation = (i: number, k: keyof ViolationState) => (v: string) =>
    setS((p) => ({ ...p, violations: p.violations.map((x, j) => (j === i ? { ...x, [k]: v } : x)) }));

  const typeOptions = useMemo(
    () => (ref?.violationTypes ?? []).map((v) => ({ value: v.code, label: `${v.category.label}: ${v.label}` })),
    [ref],
  );
  const entryOptions = useMemo(
    () => (ref?.entryPoints ?? []).filter((e) => !s.departmentCode || e.department?.code === s.departmentCode).map((e) => ({ value: e.code, label: e.name })),
    [ref, s.departmentCode],
  );

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const local = validateFileCase(s, guatemalaToday());
    if (Object.keys(local).length) {
      setErrors(Object.fromEntries(Object.entries(local).map(([k, v]) => [k, t(v)])));
      setGeneral([]);
      return;
    }
    setSending(true);
    const r = await sendCase(client, toFileCaseInput(s, key));
    setSending(false);
    if (r.kind === 'sent') {
      await correction.sent();
      navigate(`/casos/${r.caseId}`, { state: { filed: r.reference, duplicates: r.duplicates ?? [] } });
    } else if (r.kind === 'refused') {
      setErrors(r.fields);
      setGeneral(Object.keys(r.fields).length ? [] : [r.message]);
      await correction.refused(r);
    } else if (isUnlocked(ownerId)) {
      await keep();
    } else {
      setOffline((await hasPassphrase(ownerId)) ? 'locked' : 'creating');
    }
  };

  const keep = async () => {
    await enqueue(ownerId, toFileCaseInput(s, key), 'case');
    window.dispatchEvent(new Event(OUTBOX_CHANGED));
    setOffline('queued');
  };
  const restart = () => { setS(emptyFileCase()); setKey(crypto.randomUUID()); setOffline(null); setErrors({}); setGeneral([]); };

  if (loading && !ref) return <Page title={t('fileCase.title')}><Loading /></Page>;
  if (offline === 'queued') {
    return (
      <Page title={t('fileCase.queuedTitle')}>
        <Notice kind="warning">{t('fileCase.queued')}</Notice>
        <button type="button" className="button" onClick={restart}>{t('fileCase.another')}</button>
      </Page>
    );
  }
  if (offline) {
    return (
      <Page title={t('intake.offlineTitle')}>
        <Notice kind="warning">{t('fileCase.offline')}</Notice>
        <Passphrase ownerId={ownerId} creating={offline === 'creating'} onUnlocked={() => void keep()} />
      </Page>
    );
  }
  const err = (p: string) => errors[p];
  return (
    <Page title={t('fileCase.title')}>
      {correction.entry && <Notice kind="info">{t('outbox.correcting')}</Notice>}
      <ErrorSummary fields={errors} general={general} />
      <form onSubmit={(e) => void submit(e)} noValidate>
        <section aria-labelledby="s-child">
          <h2 id="s-child">{t('fileCase.child')}</h2>
          <Notice kind="info">{t('fileCase.identityNote')}</Notice>
          <TextField path="child.givenName" label={t('fileCase.givenName')} value={s.givenName} onChange={set('givenName')} error={err('child.givenName')} />
          <TextField path="child.familyName" label={t('fileCase.familyName')} value={s.familyName} onChange={set('familyName')} error={err('child.familyName')} />
          <TextField path="child.dateOfBirth" type="date" label={t('fileCase.dateOfBirth')} hint={t('fileCase.dateOfBirthHint')} value={s.dateOfBirth} onChange={set('dateOfBirth')} error={err('child.dateOfBirth')} />
          <TextField path="child.ageYears" inputMode="numeric" label={t('fileCase.ageYears')} hint={t('fileCase.ageYearsHint')} value={s.ageYears} onChange={set('ageYears')} error={err('child.ageYears')} />
          <Choices path="child.sex" label={t('fileCase.sex')} options={options(sexes, 'Sex', t)} value={s.sex ? [s.sex] : []} onChange={(v) => set('sex')(v[0] ?? '')} error={err('child.sex')} />
          <SelectField path="child.nationality" label={t('fileCase.nationality')} placeholder={t('common.choose')} options={options(nationalities, 'nationality', t)} value={s.nationality} onChange={set('nationality')} error={err('child.nationality')} />
          <SelectField path="child.populationStatus" label={t('fileCase.populationStatus')} placeholder={t('common.choose')} options={options(populationStatuses, 'PopulationStatus', t)} value={s.populationStatus} onChange={set('populationStatus')} error={err('child.populationStatus')} />
          <Choices path="child.careStatus" label={t('fileCase.careStatus')} options={options(careStatuses, 'CareStatus', t)} value={s.careStatus ? [s.careStatus] : []} onChange={(v) => set('careStatus')(v[0] ?? '')} error={err('child.careStatus')} />
          <TextField path="child.contact" label={t('fileCase.contact')} hint={t('fileCase.contactHint')} value={s.contact} onChange={set('contact')} error={err('child.contact')} />
        </section>

        <section aria-labelledby="s-violations">
          <h2 id="s-violations">{t('fileCase.violations')}</h2>
          {err('violations') && <p className="field__error" id="f-violations" tabIndex={-1}>{err('violations')}</p>}
          {s.violations.map((v, i) => {
            const p = `violations[${i}]`;
            return (
              <fieldset key={i} className="group">
                <legend>{t('fileCase.violationN', { n: i + 1 })}</legend>
                <SelectField path={`${p}.type`} label={t('fileCase.violationType')} placeholder={t('common.choose')} options={typeOptions} value={v.type} onChange={setViolation(i, 'type')} error={err(`${p}.type`)} />
                <TextField path={`${p}.occurredOn`} type="date" label={t('fileCase.occurredOn')} value={v.occurredOn} onChange={setViolation(i, 'occurredOn')} error={err(`${p}.occurredOn`)} />
                <SelectField path={`${p}.journeyStage`} label={t('fileCase.journeyStage')} placeholder={t('common.unknown')} options={options(journeyStages, 'JourneyStage', t)} value={v.journeyStage} onChange={setViolation(i, 'journeyStage')} error={err(`${p}.journeyStage`)} />
                <SelectField path={`${p}.perpetratorType`} label={t('fileCase.perpetratorType')} placeholder={t('common.unknown')} options={options(perpetratorTypes, 'PerpetratorType', t)} value={v.perpetratorType} onChange={setViolation(i, 'perpetratorType')} error={err(`${p}.perpetratorType`)} />
                <TextField path={`${p}.description`} multiline label={t('fileCase.violationDescription')} value={v.description} onChange={setViolation(i, 'description')} error={err(`${p}.description`)} />
                {s.violations.length > 1 && (
                  <button type="button" className="button button--secondary" onClick={() => setS((x) => ({ ...x, violations: x.violations.filter((_, j) => j !== i) }))}>
                    {t('fileCase.removeViolation', { n: i + 1 })}
                  </button>
                )}
              </fieldset>
            );
          })}
          <button type="button" className="button button--secondary" onClick={() => setS((x) => ({ ...x, violations: [...x.violations, emptyViolation()] }))}>
            {t('fileCase.addViolation')}
          </button>
        </section>

        <section aria-labelledby="s-where">
          <h2 id="s-where">{t('fileCase.where')}</h2>
          <SelectField path="departmentCode" label={t('fileCase.department')} placeholder={t('common.choose')} options={(ref?.departments ?? []).map((d) => ({ value: d.code, label: d.name }))} value={s.departmentCode} onChange={set('departmentCode')} error={err('departmentCode')} />
          <SelectField path="entryPoint" label={t('fileCase.entryPoint')} placeholder={t('common.none')} options={entryOptions} value={s.entryPoint} onChange={set('entryPoint')} error={err('entryPoint')} />
        </section>

        <section aria-labelledby="s-urgency">
          <h2 id="s-urgency">{t('fileCase.assessment')}</h2>
          <Choices path="urgency" label={t('fileCase.urgency')} hint={t('fileCase.urgencyHint')} options={options(urgencies, 'urgency', t)} value={s.urgency ? [s.urgency] : []} onChange={(v) => set('urgency')(v[0] ?? '')} error={err('urgency')} />
          <TextField path="summary" multiline label={t('fileCase.summary')} hint={t('fileCase.summaryHint')} value={s.summary} onChange={set('summary')} error={err('summary')} />
        </section>
        <button type="submit" className="button" disabled={sending}>{sending ? t('common.sending') : t('fileCase.submit')}</button>
      </form>
    </Page>
  );
}
