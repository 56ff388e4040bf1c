// The logic of the intake form: its steps, the checks of each step (on the
// server's field paths) and the SubmitComplaintInput sent.
import type { Channel, ComplainantKind, SubmitComplaintInput } from '../gql/graphql';

export type ComplaintState = {
  violations: string[];
  description: string;
  occurredOn: string;
  departmentCode: string;
  entryPoint: string;
  kind: string;
  name: string;
  contact: string;
  channel: string;
};

export const emptyComplaint = (): ComplaintState => ({
  violations: [], description: '', occurredOn: '', departmentCode: '', entryPoint: '', kind: '', name: '', contact: '', channel: '',
});

export const steps = ['what', 'who', 'review'] as const;
export type Step = (typeof steps)[number];

/** Which step a server field path belongs to, to send the person back to it. */
export function stepOf(path: string): Step {
  return path.startsWith('complainant') || path === 'channel' ? 'who' : 'what';
}

export function validateStep(step: Step, s: ComplaintState, today: string): Record<string, string> {
  const e: Record<string, string> = {};
  if (step === 'what' || step === 'review') {
    if (s.violations.length === 0) e['violations'] = 'intake.errors.violations';
    if (s.description.trim() === '') e['description'] = 'intake.errors.description';
    if (s.occurredOn && s.occurredOn > today) e['occurredOn'] = 'intake.errors.future';
  }
  if (step === 'who' || step === 'review') {
    if (!s.kind) e['complainant.kind'] = 'intake.errors.kind';
    if (!s.channel) e['channel'] = 'intake.errors.channel';
  }
  return e;
}

const opt = (s: string) => (s.trim() === '' ? undefined : s.trim());

export function toComplaintInput(s: ComplaintState, idempotencyKey: string): SubmitComplaintInput {
  const anonymous = s.kind === 'ANONYMOUS';
  return {
    idempotencyKey,
    complainant: {
      kind: s.kind as ComplainantKind,
      name: anonymous ? undefined : opt(s.name),
      contact: anonymous ? undefined : opt(s.contact),
    },
    channel: s.channel as Channel,
    description: s.description.trim(),
    departmentCode: opt(s.departmentCode),
    entryPoint: opt(s.entryPoint),
    occurredOn: opt(s.occurredOn),
    violations: s.violations,
  };
}

const str = (v: string | null | undefined) => v ?? '';

/** fromComplaintInput is the form's state that sends input again: to correct one the server refused. */
export function fromComplaintInput(input: SubmitComplaintInput): ComplaintState {
  return {
    violations: [...input.violations], description: input.description, occurredOn: str(input.occurredOn), departmentCode: str(input.departmentCode),
    entryPoint: str(input.entryPoint), kind: input.complainant.kind, name: str(input.complainant.name), contact: str(input.complainant.contact),
    channel: input.channel,
  };
}
