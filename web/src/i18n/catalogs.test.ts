import { expect, test } from 'vitest';
import es from './es.json';
import en from './en.json';

// keys lists a catalog's keys, plural forms folded (Spanish and English
// both use _one and _other).
function keys(o: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v as Record<string, unknown>, prefix + k + '.') : [prefix + k])).sort();
}

test('the English catalog has every key of the Spanish one, and no other', () => {
  expect(keys(en)).toEqual(keys(es));
});
