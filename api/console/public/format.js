// Numbers, money, durations and times as operations staff read them.

const number = new Intl.NumberFormat('en-US');

export function count(n) {
  return n === null || n === undefined ? '–' : number.format(n);
}

/** Dollars: cents for large sums, more digits for the fractions of a cent calls cost. */
export function usd(v) {
  if (v === null || v === undefined) return '–';
  const digits = Math.abs(v) >= 100 ? 2 : Math.abs(v) >= 1 ? 3 : 4;
  return `$${v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
}

export function ms(v) {
  return v === null || v === undefined ? '–' : `${Math.round(v).toLocaleString('en-US')} ms`;
}

/** A length of time in seconds, as `1 h 02 m`, `3 m 05 s` or `12.4 s`. */
export function seconds(s) {
  if (s === null || s === undefined) return '–';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} m`;
}

export function percent(fraction) {
  return `${Math.round(fraction * 100)}%`;
}

const timeOfDay = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTime = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });

/** Today's times as a clock time, older ones with their date. */
export function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString() ? timeOfDay.format(d) : dateTime.format(d);
}

/** Seconds between two instants (to now when `to` is absent). */
export function between(fromIso, toIso) {
  if (!fromIso) return null;
  return ((toIso ? new Date(toIso) : new Date()).getTime() - new Date(fromIso).getTime()) / 1000;
}
