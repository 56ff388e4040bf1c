// What a statistics key means, in the console's language: reference data
// (categories, departments, institutions, entry points, services) from the
// server's labels, enums and bands from the catalogs, months as dates.
import type { ReferenceQuery } from '../gql/graphql';

type T = (key: string, opts?: Record<string, unknown>) => string;

const byCode = (list: readonly { code: string; label?: string; name?: string }[] | undefined, code: string) => {
  const x = list?.find((i) => i.code === code);
  return x ? (x.label ?? x.name) : undefined;
};

const catalog: Record<string, string> = {
  AGE_BAND: 'ageBand', SEX: 'Sex', POPULATION_STATUS: 'PopulationStatus', CARE_STATUS: 'CareStatus', URGENCY: 'urgency',
  NATIONALITY: 'nationality', STATUS: 'caseStatus', KIND: 'ReferralKind', OVERDUE: 'stats.values', RESPONSE_TIME: 'stats.values',
};

/** keyLabel labels one value of dimension dim. */
export function keyLabel(dim: string, code: string, ref: ReferenceQuery | undefined, t: T, lang = 'es'): string {
  if (code === 'UNKNOWN') return t('stats.unknown');
  let label: string | undefined;
  switch (dim) {
    case 'VIOLATION_CATEGORY': label = byCode(ref?.violationCategories, code); break;
    case 'VIOLATION_TYPE': label = byCode(ref?.violationTypes, code); break;
    case 'DEPARTMENT': label = byCode(ref?.departments, code); break;
    case 'INSTITUTION': case 'RECEIVING_INSTITUTION': label = byCode(ref?.institutions, code); break;
    case 'ENTRY_POINT': label = byCode(ref?.entryPoints, code); break;
    case 'SERVICE': label = byCode(ref?.referralServices, code); break;
    case 'MONTH': {
      const m = /^(\d{4})-(\d{2})$/.exec(code);
      if (m) label = new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'es-GT', { month: 'short', year: 'numeric', timeZone: 'UTC' })
        .format(new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1)));
      break;
    }
    default: {
      const prefix = catalog[dim];
      if (prefix) label = t(`${prefix}.${code}`, { defaultValue: code });
    }
  }
  return label ?? code;
}

/** joinKey labels a row or column key of several dimensions. */
export function joinKey(dims: readonly string[], key: readonly string[], ref: ReferenceQuery | undefined, t: T, lang = 'es'): string {
  return key.map((k, i) => keyLabel(dims[i] ?? '', k, ref, t, lang)).join(' · ');
}

export type Bar = { label: string; value: number | null; suppressed: boolean };

type Table = { columns: string[][]; rows: { key: string[]; total?: number | null; cells: { column: string[]; value?: number | null; suppressed: boolean }[] }[] };

/**
 * barsOf is what a chart draws of a table: one bar per row, its single cell
 * when the table has no columns, else the row's total. A suppressed cell or
 * withheld total is a bar without a value (drawn as such, never as 0).
 */
export function barsOf(table: Table, rowDims: readonly string[], ref: ReferenceQuery | undefined, t: T, lang = 'es'): Bar[] {
  return table.rows.map((r) => {
    const label = joinKey(rowDims, r.key, ref, t, lang);
    if (table.columns.length <= 1 && r.cells.length === 1) {
      const c = r.cells[0]!;
      return { label, value: c.suppressed ? null : (c.value ?? null), suppressed: c.suppressed || c.value == null };
    }
    return { label, value: r.total ?? null, suppressed: r.total == null };
  });
}
