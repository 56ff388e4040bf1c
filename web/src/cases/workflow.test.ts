import { describe, expect, test } from 'vitest';
import { movesFrom, validateMove } from './workflow';

const perms = (...p: string[]) => (x: string) => p.includes(x);

describe('movesFrom', () => {
  test('an officer moves a step forward or asks for closure', () => {
    expect(movesFrom('REGISTERED', perms('case:transition')).map((m) => m.kind)).toEqual(['step', 'requestClosure']);
  });
  test('an officer cannot decide a closure', () => {
    expect(movesFrom('CLOSURE_REQUESTED', perms('case:transition'))).toEqual([]);
  });
  test('a supervisor approves or rejects a closure', () => {
    expect(movesFrom('CLOSURE_REQUESTED', perms('case:transition', 'case:close')).map((m) => [m.kind, m.to]))
      .toEqual([['approveClosure', 'CLOSED'], ['rejectClosure', 'FOLLOW_UP']]);
  });
  test('a supervisor reopens a closed case', () => {
    expect(movesFrom('CLOSED', perms('case:transition', 'case:close')).map((m) => m.to)).toEqual(['ASSESSMENT']);
  });
  test('without case:transition nothing moves', () => {
    expect(movesFrom('REGISTERED', perms('case:read', 'case:close'))).toEqual([]);
  });
});

describe('validateMove', () => {
  const [, request] = movesFrom('ASSESSMENT', perms('case:transition'));
  const [, reject] = movesFrom('CLOSURE_REQUESTED', perms('case:transition', 'case:close'));
  test('a closure request needs its closure reason', () => {
    expect(validateMove(request, '', '')).toEqual({ closureReason: 'workflow.errors.closureReason' });
    expect(validateMove(request, '', 'GOAL_MET')).toEqual({});
  });
  test('a rejection needs a reason in words', () => {
    expect(validateMove(reject, '  ', '')).toEqual({ reason: 'workflow.errors.reason' });
  });
  test('no move chosen', () => {
    expect(validateMove(undefined, '', '')).toEqual({ to: 'workflow.errors.to' });
  });
});
