/**
 * Strict ISO 8601 date / date-time → epoch milliseconds, without regexes or
 * allocation (conditions parse dates on every command).
 *
 * Accepted: `YYYY-MM-DD`, then optionally `THH:MM`, `:SS`, `.fff` (any number of
 * digits, milliseconds kept), and `Z` or `±HH:MM` / `±HHMM`. `t`, `z` and a space
 * separator are tolerated (RFC 3339). A date-time without an offset is read as
 * UTC — `Date.parse` would use the server's time zone, and two servers must
 * never disagree on a branch. Out-of-range parts (month 13, Feb 30, 24:00) give NaN
 * rather than rolling over as `Date.UTC` would.
 */
export function isoInstant(text: string): number {
  const n = text.length;
  if (n < 10 || n > 64) return NaN;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  if (text.charCodeAt(4) !== DASH || text.charCodeAt(7) !== DASH) return NaN;
  const midnight = daysFromCivil(year, month, day) * DAY_MS;
  if (n === 10) return midnight;
  const sep = text.charCodeAt(10);
  if (sep !== UPPER_T && sep !== LOWER_T && sep !== SPACE) return NaN;
  const time = timeOfDay(text, 11);
  return Number.isNaN(time) ? NaN : midnight + time;
}

const DAY_MS = 86_400_000;
const DASH = 45;
const COLON = 58;
const SPACE = 32;
const UPPER_T = 84;
const LOWER_T = 116;

/** `HH:MM[:SS[.fff]][Z|±HH:MM]` starting at `at`, minus the offset, in ms; NaN if malformed. */
function timeOfDay(text: string, at: number): number {
  const hour = digits(text, at, 2);
  const minute = digits(text, at + 3, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || text.charCodeAt(at + 2) !== COLON) return NaN;
  let i = at + 5;
  let second = 0;
  let millis = 0;
  if (text.charCodeAt(i) === COLON) {
    second = digits(text, i + 1, 2);
    if (second < 0 || second > 59) return NaN;
    i += 3;
    const dot = text.charCodeAt(i);
    if (dot === 46 || dot === 44) {
      const start = ++i;
      while (i < text.length && isDigit(text.charCodeAt(i))) {
        if (i - start < 3) millis = millis * 10 + (text.charCodeAt(i) - 48);
        i++;
      }
      const kept = i - start;
      if (kept === 0) return NaN;
      if (kept < 3) millis *= kept === 1 ? 100 : 10;
    }
  }
  const offset = offsetMinutes(text, i);
  return Number.isNaN(offset) ? NaN : ((hour * 60 + minute - offset) * 60 + second) * 1000 + millis;
}

/** The zone suffix at `at` in minutes east of UTC (none or `Z` = 0); NaN if malformed. */
function offsetMinutes(text: string, at: number): number {
  const n = text.length;
  if (at === n) return 0;
  const c = text.charCodeAt(at);
  if (c === 90 || c === 122) return at + 1 === n ? 0 : NaN;
  if (c !== 43 && c !== 45) return NaN;
  const hours = digits(text, at + 1, 2);
  const colon = text.charCodeAt(at + 3) === COLON ? 1 : 0;
  const minutes = digits(text, at + 3 + colon, 2);
  if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59 || at + 5 + colon !== n) return NaN;
  return (c === 45 ? -1 : 1) * (hours * 60 + minutes);
}

/** The decimal number in `count` digits at `at`, or -1. */
function digits(text: string, at: number, count: number): number {
  if (at + count > text.length) return -1;
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const c = text.charCodeAt(i);
    if (!isDigit(c)) return -1;
    value = value * 10 + (c - 48);
  }
  return value;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm); unlike Date.UTC it keeps years 0–99. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
