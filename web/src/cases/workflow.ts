// The case workflow as the console offers it: which moves a person may make
// from a case's status. It mirrors internal/casefile's Moves (the server
// decides every move anyway, and answers a refused one with its reason).
export const statuses = ['REGISTERED', 'ASSESSMENT', 'CASE_PLAN', 'IMPLEMENTATION', 'FOLLOW_UP', 'CLOSURE_REQUESTED', 'CLOSED'] as const;

export const closureReasons = ['GOAL_MET', 'DURABLE_SOLUTION', 'TURNED_18_TRANSITION_PLAN', 'TRANSFERRED', 'NO_LONGER_CONTACTABLE',
  'DEATH', 'NO_FURTHER_ACTION', 'OPENED_IN_ERROR', 'DUPLICATE'] as const;

/** The kind of a move names its label in the catalog (workflow.actions.KIND). */
export type MoveKind = 'step' | 'requestClosure' | 'approveClosure' | 'rejectClosure' | 'reopen';

export type Move = {
  to: string;
  kind: MoveKind;
  /** case:close on top of case:transition. */
  needsClose: boolean;
  /** A reason in words is required. */
  reason: boolean;
  /** A closure reason is required. */
  closureReason: boolean;
};

const step = (to: string): Move => ({ to, kind: 'step', needsClose: false, reason: false, closureReason: false });
const requestClosure: Move = { to: 'CLOSURE_REQUESTED', kind: 'requestClosure', needsClose: false, reason: false, closureReason: true };

const moves: Record<string, Move[]> = {
  REGISTERED: [step('ASSESSMENT'), requestClosure],
  ASSESSMENT: [step('CASE_PLAN'), requestClosure],
  CASE_PLAN: [step('IMPLEMENTATION'), requestClosure],
  IMPLEMENTATION: [step('FOLLOW_UP'), requestClosure],
  FOLLOW_UP: [step('IMPLEMENTATION'), requestClosure],
  CLOSURE_REQUESTED: [
    { to: 'CLOSED', kind: 'approveClosure', needsClose: true, reason: false, closureReason: false },
    { to: 'FOLLOW_UP', kind: 'rejectClosure', needsClose: true, reason: true, closureReason: false },
  ],
  CLOSED: [{ to: 'ASSESSMENT', kind: 'reopen', needsClose: true, reason: true, closureReason: false }],
};

/**
 * movesFrom lists the moves from status that the permissions allow:
 * case:transition for every move, case:close too for deciding a closure
 * and reopening.
 */
export function movesFrom(status: string, can: (permission: string) => boolean): Move[] {
  if (!can('case:transition')) return [];
  return (moves[status] ?? []).filter((m) => !m.needsClose || can('case:close'));
}

/** validateMove returns, per field, the catalog key of what is missing. */
export function validateMove(m: Move | undefined, reason: string, closureReason: string): Record<string, string> {
  const e: Record<string, string> = {};
  if (!m) { e.to = 'workflow.errors.to'; return e; }
  if (m.reason && reason.trim() === '') e.reason = 'workflow.errors.reason';
  if (m.closureReason && !closureReason) e.closureReason = 'workflow.errors.closureReason';
  return e;
}
