// Numbers, money and times as people read them.

const locale = undefined; // the browser's

const usd2 = new Intl.NumberFormat(locale, { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const usdSmall = new Intl.NumberFormat(locale, { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 6 });
const integer = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });

/** "$1,234.50"; amounts under a cent keep their digits ("$0.000150"). */
export function usd(value) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return '—';
  const n = Number(value);
  return n !== 0 && Math.abs(n) < 0.01 ? usdSmall.format(n) : usd2.format(n);
}

/** "12,345" */
export function count(value) {
  if (value === null || value === undefined) return '—';
  return integer.format(Number(value));
}

/** "12.5" */
export function num(value) {
  if (value === null || value === undefined) return '—';
  return decimal.format(Number(value));
}

/** "73 %" */
export function pct(value) {
  if (value === null || value === undefined) return '—';
  return `${decimal.format(Number(value))}\u00a0%`;
}

const local = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
const localDay = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });

/** A timestamp in the browser's zone. */
export function dateTime(ts) {
  if (!ts) return '—';
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : local.format(d);
}

export function day(ts) {
  if (!ts) return '—';
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : localDay.format(d);
}

/** The same instant in UTC, for a tooltip. */
export function utc(ts) {
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? '' : `${d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')} UTC`;
}

/** First day of the current UTC month, RFC 3339. */
export function monthStart(now = new Date()) {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
}

/** An RFC 3339 instant as a datetime-local value in the browser's zone. */
export function localInput(iso) {
  const d = new Date(iso || '');
  if (!iso || Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A datetime-local value (browser's zone) as RFC 3339 UTC, or ''. */
export function utcFromLocalInput(value) {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
