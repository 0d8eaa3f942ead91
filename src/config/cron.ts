/**
 * CronJob schedules: the syntax Kubernetes accepts (5 fields, names, ranges, steps, lists, the
 * `@hourly`-style descriptors), checked at synth time, and the longest time between two runs (which
 * bounds the backup-age alert). Pure functions.
 *
 * @see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax
 */

/** A parsed schedule: the allowed values of each field. */
export interface CronSchedule {
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  readonly months: readonly number[];
  /** 0 = Sunday ... 6 = Saturday (7 is folded into 0). */
  readonly daysOfWeek: readonly number[];
  /** Both day fields restricted: a day matches when EITHER matches (cron's rule); else both must. */
  readonly dayOr: boolean;
}

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** Value of names[0]. */
  readonly namesFrom?: number;
  /** `?` means "any" (day fields only). */
  readonly question?: boolean;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31, question: true },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, namesFrom: 0, question: true },
];

/** Thrown by parseCronSchedule; the message says what is wrong and how to write it. */
export class CronScheduleError extends Error {}

function value(text: string, f: FieldSpec): number {
  const upper = text.toUpperCase();
  const named = f.names?.indexOf(upper) ?? -1;
  if (named >= 0) return named + (f.namesFrom ?? 0);
  if (!/^[0-9]+$/.test(text)) {
    throw new CronScheduleError(`'${text}' is not a number${f.names ? ` or a name (${f.names.join(', ')})` : ''} in the ${f.name} field`);
  }
  const n = Number(text);
  if (n < f.min || n > f.max) throw new CronScheduleError(`${n} is outside ${f.min}-${f.max} in the ${f.name} field`);
  return n;
}

/** Returns the field's values, and whether it was `*`/`?` (unrestricted, for cron's day rule). */
function parseField(text: string, f: FieldSpec): { values: number[]; star: boolean } {
  const values = new Set<number>();
  let star = false;
  for (const part of text.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined || range === '') throw new CronScheduleError(`'${part}' is not a valid ${f.name} entry`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^[0-9]+$/.test(stepText) || Number(stepText) < 1) {
        throw new CronScheduleError(`step '${stepText}' in the ${f.name} field must be a whole number >= 1`);
      }
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*' || (range === '?' && f.question)) {
      lo = f.min;
      hi = f.max;
      if (stepText === undefined) star = true;
    } else if (range.includes('-')) {
      const [a, b, more] = range.split('-');
      if (more !== undefined) throw new CronScheduleError(`'${range}' is not a valid range in the ${f.name} field`);
      lo = value(a, f);
      hi = value(b, f);
      if (lo > hi) throw new CronScheduleError(`range ${range} in the ${f.name} field runs backwards: write ${b}-${a}, or a list`);
    } else {
      lo = value(range, f);
      // `a/step` means from a to the field's end.
      hi = stepText === undefined ? lo : f.max;
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values: [...values].sort((a, b) => a - b), star };
}

/**
 * Parses a CronJob schedule. Throws CronScheduleError naming the problem; rejects what the
 * Kubernetes API server rejects (`TZ=` prefixes) and `@every`, whose runs do not follow the clock.
 */
export function parseCronSchedule(schedule: string): CronSchedule {
  const trimmed = schedule.trim();
  if (/^(CRON_)?TZ=/.test(trimmed)) {
    throw new CronScheduleError('a TZ= or CRON_TZ= prefix is rejected by Kubernetes: use the time zone prop (CronJob spec.timeZone) instead');
  }
  if (trimmed.startsWith('@every')) {
    throw new CronScheduleError('@every is not supported: write the interval as a 5-field schedule, e.g. \'0 */6 * * *\'');
  }
  let text = trimmed;
  if (trimmed.startsWith('@')) {
    const expanded = DESCRIPTORS[trimmed.toLowerCase()];
    if (!expanded) throw new CronScheduleError(`unknown descriptor '${trimmed}': use one of ${Object.keys(DESCRIPTORS).join(', ')}`);
    text = expanded;
  }
  const parts = text.split(/\s+/).filter(Boolean);
  if (parts.length !== 5) {
    throw new CronScheduleError(`a schedule has 5 fields (minute hour day-of-month month day-of-week), this has ${parts.length}: e.g. '0 2 * * *' for 02:00 daily`);
  }
  const parsed = parts.map((p, i) => parseField(p, FIELDS[i]));
  const [minutes, hours, dom, months, dow] = parsed;
  const daysOfWeek = [...new Set(dow.values.map((d) => d % 7))].sort((a, b) => a - b);
  const s: CronSchedule = {
    minutes: minutes.values, hours: hours.values, daysOfMonth: dom.values, months: months.values, daysOfWeek,
    dayOr: !dom.star && !dow.star,
  };
  if (longestGapMinutes(s) === undefined) {
    throw new CronScheduleError(`'${schedule}' never runs (no such day in any year)`);
  }
  return s;
}

// 2 x 28 years from 2001-01-01 (a Monday): every combination of weekday, month length and leap year
// (the Gregorian calendar repeats every 28 years between 1901 and 2099) appears, with its neighbours.
const FIRST_YEAR = 2001;
const YEARS = 56;
const FIRST_WEEKDAY = 1;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : MONTH_DAYS[month - 1];
}

/**
 * The longest time in minutes between two consecutive runs of the schedule, in the schedule's own
 * clock (a daylight-saving change can add or remove an hour); undefined when it never runs.
 */
export function longestGapMinutes(s: CronSchedule): number | undefined {
  const times = s.hours.flatMap((h) => s.minutes.map((m) => h * 60 + m));
  if (times.length === 0) return undefined;
  const first = times[0];
  const last = times[times.length - 1];
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
  const months = new Set(s.months);
  const doms = new Set(s.daysOfMonth);
  const dows = new Set(s.daysOfWeek);
  let previousDay: number | undefined;
  let runs = 0;
  // Days are counted, not built as Dates: the walk runs for every synthesized chart with backups.
  let day = 0;
  let weekday = FIRST_WEEKDAY;
  for (let year = FIRST_YEAR; year < FIRST_YEAR + YEARS; year++) {
    for (let month = 1; month <= 12; month++) {
      const length = daysIn(year, month);
      if (months.has(month)) {
        for (let date = 1; date <= length; date++) {
          const domOk = doms.has(date);
          const dowOk = dows.has((weekday + date - 1) % 7);
          if (s.dayOr ? domOk || dowOk : domOk && dowOk) {
            runs++;
            if (previousDay !== undefined) gap = Math.max(gap, (day + date - 1 - previousDay) * 1440 + first - last);
            previousDay = day + date - 1;
          }
        }
      }
      day += length;
      weekday = (weekday + length) % 7;
    }
  }
  if (runs === 0) return undefined;
  // A single run time on a single day per 56 years cannot happen (the day recurs), so runs >= 2.
  return gap;
}
