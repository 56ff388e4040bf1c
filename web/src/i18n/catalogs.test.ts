import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import es from './es.json';
import en from './en.json';
import { caseFields, complaintFields } from '../complaints/fields';

type Catalog = Record<string, unknown>;

// keys lists a catalog's keys, plural forms folded (Spanish and English
// both use _one and _other).
function keys(o: Catalog, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' ? keys(v as Catalog, prefix + k + '.') : [prefix + k])).sort();
}

function values(o: Catalog): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (x: Catalog, p: string) => Object.entries(x).forEach(([k, v]) => (v && typeof v === 'object' ? walk(v as Catalog, p + k + '.') : out.set(p + k, String(v))));
  walk(o, '');
  return out;
}

const esValues = values(es);
const enValues = values(en);

/** has says whether the catalog holds key: as a text, a plural, or (prefix, ending in ".") a group. */
function has(key: string): boolean {
  if (key.endsWith('.')) return [...esValues.keys()].some((k) => k.startsWith(key));
  return esValues.has(key) || (esValues.has(key + '_one') && esValues.has(key + '_other'));
}

/** sources lists the console's own source files (not the generated types, not the tests). */
function sources(dir = fileURLToPath(new URL('..', import.meta.url))): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'gql' ? [] : sources(p);
    return /\.tsx?$/.test(name) && !name.endsWith('.test.ts') ? [p] : [];
  });
}

test('the English catalog has every key of the Spanish one, and no other', () => {
  expect(keys(en)).toEqual(keys(es));
});

test('every key the console asks for is in the catalogs', () => {
  const used = new Set<string>();
  for (const file of sources()) {
    const text = readFileSync(file, 'utf8');
    // t('key'), i18n.t('key'), t('prefix.' + code): a key or a group.
    for (const m of text.matchAll(/\bt\(\s*'([^']+)'/g)) used.add(m[1]!);
    // Keys handed to t later: the forms' checks return them (x.errors.y).
    for (const m of text.matchAll(/'([A-Za-z]+\.errors\.[A-Za-z.]+)'/g)) used.add(m[1]!);
  }
  for (const k of [...Object.values(caseFields), ...Object.values(complaintFields)]) used.add(k);
  expect(used.size).toBeGreaterThan(300);
  expect([...used].filter((k) => !has(k)).sort()).toEqual([]);
});

test('the English catalog holds no Spanish', () => {
  // The only Spanish word is the switch back to Spanish; names of countries and of Amparo are the same in both.
  const same = new Set(['app.name', 'stats.total']);
  const spanish = [...enValues].filter(([k, v]) => k !== 'nav.otherLanguage' && /[áéíóúñ¿¡]/i.test(v));
  expect(spanish).toEqual([]);
  const untranslated = [...enValues].filter(([k, v]) => v === esValues.get(k) && !same.has(k) && !k.startsWith('nationality.'));
  expect(untranslated).toEqual([]);
});

test('a text says the same things in both languages: the same {{placeholders}}', () => {
  const vars = (s: string) => [...s.matchAll(/\{\{\s*(\w+)/g)].map((m) => m[1]).sort();
  const differ = [...esValues].filter(([k, v]) => JSON.stringify(vars(v)) !== JSON.stringify(vars(enValues.get(k) ?? ''))).map(([k]) => k);
  expect(differ).toEqual([]);
});
