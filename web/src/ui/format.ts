// Dates and deadlines in the console's language.
import { currentLanguage } from '../i18n';

const locale = () => (currentLanguage() === 'en' ? 'en-GB' : 'es-GT');

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = iso.length === 10 ? new Date(iso + 'T12:00:00') : new Date(iso);
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(d);
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

/** relativeDue says "en 3 horas" / "hace 2 días" for a deadline. */
export function relativeDue(iso: string, now: number = Date.now(), lang: string = locale()): string {
  const diff = Date.parse(iso) - now;
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
  const abs = Math.abs(diff);
  const min = 60_000, hour = 60 * min, day = 24 * hour;
  if (abs < hour) return rtf.format(Math.round(diff / min), 'minute');
  if (abs < 2 * day) return rtf.format(Math.round(diff / hour), 'hour');
  return rtf.format(Math.round(diff / day), 'day');
}

/** formatNumber writes a count in the console's language (12,345). */
export function formatNumber(n: number): string {
  return new Intl.NumberFormat(locale()).format(n);
}

/** formatPercent writes a share (0.42) as a whole percentage in the console's language. */
export function formatPercent(v: number): string {
  return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 0 }).format(v);
}

export function formatBytes(n: number): string {
  const one = (v: number) => new Intl.NumberFormat(locale(), { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(v);
  if (n < 1024) return `${formatNumber(n)} B`;
  if (n < 1024 * 1024) return `${one(n / 1024)} KiB`;
  return `${one(n / 1024 / 1024)} MiB`;
}

/**
 * guatemalaToday is today's date (YYYY-MM-DD) in Guatemala (UTC-6, no
 * daylight saving), the day the server checks dates against: the UTC date
 * is already tomorrow from 18:00 in Guatemala.
 */
export function guatemalaToday(now: number = Date.now()): string {
  return new Date(now - 6 * 60 * 60 * 1000).toISOString().slice(0, 10);
}
