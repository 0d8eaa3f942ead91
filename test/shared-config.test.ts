/**
 * The scripts ConfigMap as renderFiles assembles it: the embedded scripts, identical for every
 * release, plus the release's constants.sh; and which of them the pods' config checksum covers.
 */
import { Duration } from 'cdk8s';
import { RedisAuth, RedisSentinelChartProps } from '../src';
import { SHELL_FILES } from '../src/scripts/embedded.generated';
import { SCRIPT } from '../src/settings';
import { configChecksum, renderFiles } from '../src/shared-config';
import { CUSTOM_PROPS } from './support/chart-variants';
import { settingsOf } from './support/synth';

const RELEASES: Array<[string, RedisSentinelChartProps]> = [
  ['default', {}],
  ['backup and restore', { backup: {}, restore: { file: 'latest' } }],
  ['auth off', { auth: RedisAuth.none(), backup: {} }],
  ['customised', { ...CUSTOM_PROPS, restore: { file: 'cache-20260101T020000Z.rdb' } }],
  ['other name and namespace', { name: 'session', namespace: 'prod', sentinels: 5, masterName: 'sessions' }],
];
const files = (props: RedisSentinelChartProps) => renderFiles(settingsOf(props, props.name ?? 'redis'));

describe.each(RELEASES)('%s', (_label, props) => {
  const scripts = files(props).scripts;

  it('ships every script exactly as in src/scripts (no per-release rendering, backup and restore included so a RedisBackup can attach later), plus constants.sh', () => {
    for (const [f, text] of Object.entries(scripts)) {
      if (f !== SCRIPT.constants) expect({ f, text }).toEqual({ f, text: SHELL_FILES[f] });
    }
    expect(Object.keys(scripts).sort()).toEqual([...Object.values(SCRIPT)].sort());
  });
});

it('only constants.sh differs between releases', () => {
  const a = files(RELEASES[1][1]).scripts;
  const b = files({ ...CUSTOM_PROPS, restore: { file: 'latest' } }).scripts;
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  expect(Object.keys(a).filter((f) => a[f] !== b[f])).toEqual([SCRIPT.constants]);
});

describe('the config checksum', () => {
  it('covers constants.sh: a value only the scripts read rolls the Redis pods', () => {
    const before = settingsOf({});
    const after = settingsOf({ downAfter: Duration.seconds(8) });
    // Only the failover wait of the preStop hook changes for Redis pods.
    expect(renderFiles(after).redisConf).toBe(renderFiles(before).redisConf);
    expect(renderFiles(after).scripts[SCRIPT.constants]).not.toBe(renderFiles(before).scripts[SCRIPT.constants]);
    expect(configChecksum(renderFiles(after)).redis).not.toBe(configChecksum(renderFiles(before)).redis);
  });

  it('does not cover the backup and restore scripts (their pods read their values from their env)', () => {
    const off = configChecksum(renderFiles(settingsOf({})));
    expect(configChecksum(renderFiles(settingsOf({ backup: { retention: 3 }, restore: { file: 'latest' } })))).toEqual(off);
  });
});
