import { describe, expect, test } from 'vitest';
import { barsOf, keyLabel } from './labels';
import type { ReferenceQuery } from '../gql/graphql';

const t = (k: string, o?: Record<string, unknown>) => (k === 'stats.unknown' ? 'No consta' : k === 'Sex.FEMALE' ? 'Femenino' : String(o?.defaultValue ?? k));
const ref = { departments: [{ code: 'GT-13', name: 'Huehuetenango' }], violationCategories: [], violationTypes: [], entryPoints: [], institutions: [], referralServices: [] } as unknown as ReferenceQuery;

describe('keyLabel', () => {
  test('reference data by its label, enums from the catalog, unknown said so', () => {
    expect(keyLabel('DEPARTMENT', 'GT-13', ref, t)).toBe('Huehuetenango');
    expect(keyLabel('SEX', 'FEMALE', ref, t)).toBe('Femenino');
    expect(keyLabel('AGE_BAND', 'UNKNOWN', ref, t)).toBe('No consta');
    expect(keyLabel('DEPARTMENT', 'GT-99', ref, t)).toBe('GT-99');
  });
  test('a month as a month', () => {
    expect(keyLabel('MONTH', '2026-11', ref, t, 'en')).toBe('Nov 2026');
  });
});

describe('barsOf', () => {
  test('a suppressed cell is a bar without a value, never 0', () => {
    const bars = barsOf({ columns: [[]], rows: [
      { key: ['GT-13'], total: null, cells: [{ column: [], value: null, suppressed: true }] },
      { key: ['GT-01'], total: 12, cells: [{ column: [], value: 12, suppressed: false }] },
    ] }, ['DEPARTMENT'], ref, t);
    expect(bars).toEqual([
      { label: 'Huehuetenango', value: null, suppressed: true },
      { label: 'GT-01', value: 12, suppressed: false },
    ]);
  });
  test('with columns, the row total; withheld when null', () => {
    const bars = barsOf({ columns: [['FEMALE'], ['MALE']], rows: [
      { key: ['AGE_13_17'], total: null, cells: [{ column: ['FEMALE'], value: 7, suppressed: false }, { column: ['MALE'], value: null, suppressed: true }] },
    ] }, ['AGE_BAND'], ref, t);
    expect(bars[0]).toMatchObject({ value: null, suppressed: true });
  });
});
