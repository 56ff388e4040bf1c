import { expect, test } from 'vitest';
import { fieldId, sortErrors } from './errors';

test('field errors go to their field, the rest to the whole form', () => {
  const p = sortErrors([
    { message: 'la fecha es anterior al nacimiento', extensions: { code: 'BAD_USER_INPUT', field: 'violations[0].occurredOn' } },
    { message: 'segunda del mismo campo', extensions: { code: 'BAD_USER_INPUT', field: 'violations[0].occurredOn' } },
    { message: 'entrada no válida', extensions: { code: 'BAD_USER_INPUT' } },
    { message: 'conflicto', extensions: { code: 'CONFLICT' } },
  ]);
  expect(p.fields).toEqual({ 'violations[0].occurredOn': 'la fecha es anterior al nacimiento' });
  expect(p.general).toEqual(['entrada no válida', 'conflicto']);
  expect(p.codes).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT', 'BAD_USER_INPUT', 'CONFLICT']);
});

test('field ids are valid, stable DOM ids for server paths', () => {
  expect(fieldId('violations[0].occurredOn')).toBe('f-violations-0-occurredOn');
  expect(fieldId('child.sex')).toBe('f-child-sex');
});
