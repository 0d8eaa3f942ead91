/**
 * CronJob schedules: what parses (the syntax Kubernetes accepts), what is refused with which
 * message, and the longest gap between runs, which sets the backup-age alert's threshold.
 */
import * as fc from 'fast-check';
import { CronScheduleError, longestGapMinutes, parseCronSchedule } from '../../src/config/cron';

const gapOf = (schedule: string) => longestGapMinutes(parseCronSchedule(schedule));

describe('parseCronSchedule', () => {
  it.each([
    ['0 2 * * *', [0], [2]],
    ['*/15 * * * *', [0, 15, 30, 45], undefined],
    ['5,35 1-3 * * *', [5, 35], [1, 2, 3]],
    ['10/20 */8 * * *', [10, 30, 50], [0, 8, 16]],
  ])('%s: minutes and hours', (schedule, minutes, hours) => {
    const s = parseCronSchedule(schedule);
    expect(s.minutes).toEqual(minutes);
    if (hours) expect(s.hours).toEqual(hours);
  });

  it('reads month and weekday names, folds 7 into Sunday, and expands descriptors', () => {
    const s = parseCronSchedule('0 0 * jan,JUL mon-fri,7');
    expect(s.months).toEqual([1, 7]);
    expect(s.daysOfWeek).toEqual([0, 1, 2, 3, 4, 5]);
    expect(parseCronSchedule('@daily')).toEqual(parseCronSchedule('0 0 * * *'));
    expect(parseCronSchedule('@weekly')).toEqual(parseCronSchedule('0 0 * * 0'));
    expect(parseCronSchedule('0 0 ? * *')).toEqual(parseCronSchedule('0 0 * * *'));
  });

  it('uses either day field when both are restricted, both when one is *', () => {
    expect(parseCronSchedule('0 0 1 * mon').dayOr).toBe(true);
    expect(parseCronSchedule('0 0 1 * *').dayOr).toBe(false);
    expect(parseCronSchedule('0 0 * * mon').dayOr).toBe(false);
  });

  it.each([
    ['0 2 * *', /has 5 fields .* this has 4/],
    ['0 2 * * * *', /this has 6/],
    ['60 * * * *', /60 is outside 0-59 in the minute field/],
    ['0 24 * * *', /24 is outside 0-23 in the hour field/],
    ['0 0 0 * *', /0 is outside 1-31 in the day of month field/],
    ['0 0 * 13 *', /13 is outside 1-12 in the month field/],
    ['0 0 * * 8', /8 is outside 0-7 in the day of week field/],
    ['0 5-2 * * *', /range 5-2 in the hour field runs backwards/],
    ['*/0 * * * *', /step '0' in the minute field/],
    ['x * * * *', /'x' is not a number in the minute field/],
    ['0 0 * foo *', /'foo' is not a number or a name \(JAN/],
    ['0 0 30 2 *', /never runs/],
    ['@every 1h', /@every is not supported/],
    ['@often', /unknown descriptor '@often'/],
    ['TZ=UTC 0 2 * * *', /TZ= .* use the time zone prop/],
    ['CRON_TZ=UTC 0 2 * * *', /TZ=/],
    ['0 0 ? * ?', undefined],
  ])('%s', (schedule, message) => {
    if (message === undefined) {
      expect(() => parseCronSchedule(schedule)).not.toThrow();
    } else {
      expect(() => parseCronSchedule(schedule)).toThrow(CronScheduleError);
      expect(() => parseCronSchedule(schedule)).toThrow(message);
    }
  });
});

describe('longestGapMinutes', () => {
  it.each([
    ['* * * * *', 1],
    ['0 * * * *', 60],
    ['*/15 * * * *', 15],
    ['0 2 * * *', 1440],
    ['0 2,14 * * *', 720],
    ['0 1,2 * * *', 1380],
    ['30 */6 * * *', 360],
    ['0 0 * * 1-5', 3 * 1440],
    ['0 0 * * 0', 7 * 1440],
    ['0 0 1 * *', 31 * 1440],
    ['0 0 1 1 *', 366 * 1440],
    ['0 0 31 * *', 61 * 1440],
    // Feb 29: every 4 years within 1901-2099 (8 across 2100, outside the window).
    ['0 0 29 2 *', (366 + 3 * 365) * 1440],
  ])('%s: %d minutes', (schedule, minutes) => {
    expect(gapOf(schedule)).toBe(minutes);
  });

  it('is never shorter than the gap between two runs on one day, and at most 8 years (property)', () => {
    const field = (max: number) => fc.uniqueArray(fc.integer({ min: 0, max }), { minLength: 1, maxLength: 4 }).map((a) => a.sort((x, y) => x - y).join(','));
    fc.assert(fc.property(field(59), field(23), (minutes, hours) => {
      const gap = gapOf(`${minutes} ${hours} * * *`)!;
      const times = hours.split(',').flatMap((h) => minutes.split(',').map((m) => Number(h) * 60 + Number(m))).sort((a, b) => a - b);
      // Runs every day: the longest gap is the largest difference around the 24 h circle.
      const circle = times.map((_t, i) => (i === 0 ? times[times.length - 1] - 1440 : times[i - 1])).map((prev, i) => times[i] - prev);
      expect(gap).toBe(Math.max(...circle));
    }), { numRuns: 200 });
  });
});
