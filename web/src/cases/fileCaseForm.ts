// The logic of the file-a-case form, apart from its view: the form's state,
// the checks made before sending (the server checks again, and its field
// errors land on the same paths), and the FileCaseInput sent.
import type { FileCaseInput, JourneyStage, PerpetratorType, Urgency, Sex, PopulationStatus, CareStatus } from '../gql/graphql';

export type ViolationState = { type: string; occurredOn: string; journeyStage: string; perpetratorType: string; description: string };

export type FileCaseState = {
  givenName: string;
  familyName: string;
  dateOfBirth: string;
  ageYears: string;
  sex: string;
  nationality: string;
  populationStatus: string;
  careStatus: string;
  contact: string;
  violations: ViolationState[];
  departmentCode: string;
  entryPoint: string;
  urgency: string;
  summary: string;
};

export const emptyViolation = (): ViolationState => ({ type: '', occurredOn: '', journeyStage: '', perpetratorType: '', description: '' });

export const emptyFileCase = (): FileCaseState => ({
  givenName: '', familyName: '', dateOfBirth: '', ageYears: '', sex: '', nationality: '', populationStatus: '', careStatus: '',
  contact: '', violations: [emptyViolation()], departmentCode: '', entryPoint: '', urgency: '', summary: '',
});

const isDate = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s + 'T00:00:00Z'));

/**
 * validateFileCase returns, per field path (the server's paths), the
 * catalog key of what is wrong. today is YYYY-MM-DD.
 */
export function validateFileCase(s: FileCaseState, today: string): Record<string, string> {
  const e: Record<string, string> = {};
  if (s.dateOfBirth && !isDate(s.dateOfBirth)) e['child.dateOfBirth'] = 'fileCase.errors.dateFormat';
  else if (s.dateOfBirth && s.dateOfBirth > today) e['child.dateOfBirth'] = 'fileCase.errors.future';
  // The server needs one or the other; checked here too, so that a form
  // kept offline is not refused when it is finally sent.
  if (!s.dateOfBirth && s.ageYears === '') e['child.dateOfBirth'] = 'fileCase.errors.ageOrBirth';
  if (s.ageYears !== '') {
    const n = Number(s.ageYears);
    if (!Number.isInteger(n) || n < 0 || n > 17) e['child.ageYears'] = 'fileCase.errors.age';
  }
  if (!s.sex) e['child.sex'] = 'fileCase.errors.sex';
  if (!s.nationality) e['child.nationality'] = 'fileCase.errors.nationality';
  if (!s.populationStatus) e['child.populationStatus'] = 'fileCase.errors.populationStatus';
  if (!s.careStatus) e['child.careStatus'] = 'fileCase.errors.careStatus';
  if (s.violations.length === 0) e['violations'] = 'fileCase.errors.violations';
  s.violations.forEach((v, i) => {
    if (!v.type) e[`violations[${i}].type`] = 'fileCase.errors.violationType';
    if (v.occurredOn && !isDate(v.occurredOn)) e[`violations[${i}].occurredOn`] = 'fileCase.errors.dateFormat';
    else if (v.occurredOn && v.occurredOn > today) e[`violations[${i}].occurredOn`] = 'fileCase.errors.future';
  });
  if (!s.departmentCode) e['departmentCode'] = 'fileCase.errors.department';
  if (!s.urgency) e['urgency'] = 'fileCase.errors.urgency';
  if (s.summary.trim() === '') e['summary'] = 'fileCase.errors.summary';
  return e;
}

const opt = (s: string) => (s.trim() === '' ? undefined : s.trim());

/** toFileCaseInput is what the form sends; empty fields are left out. */
export function toFileCaseInput(s: FileCaseState, idempotencyKey: string): FileCaseInput {
  return {
    idempotencyKey,
    child: {
      givenName: opt(s.givenName),
      familyName: opt(s.familyName),
      dateOfBirth: opt(s.dateOfBirth),
      ageYears: s.ageYears === '' ? undefined : Number(s.ageYears),
      sex: s.sex as Sex,
      nationality: s.nationality,
      populationStatus: s.populationStatus as PopulationStatus,
      careStatus: s.careStatus as CareStatus,
      contact: opt(s.contact),
    },
    violations: s.violations.map((v) => ({
      type: v.type,
      occurredOn: opt(v.occurredOn),
      journeyStage: (opt(v.journeyStage) as JourneyStage | undefined),
      perpetratorType: (opt(v.perpetratorType) as PerpetratorType | undefined),
      description: opt(v.description),
    })),
    departmentCode: s.departmentCode,
    entryPoint: opt(s.entryPoint),
    urgency: s.urgency as Urgency,
    summary: s.summary.trim(),
  };
}
