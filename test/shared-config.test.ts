/**
 * The scripts ConfigMap as renderFiles assembles it: the embedded scripts, identical for every
 * release, plus the release's constants.sh; and which of them the pods' config checksum covers.
 */
import { Duration } from 'cdk8s';
import { RedisSentinelChartProps } from '../src';
import { SHELL_FILES } from '../src/scripts/embedded.generated';
import { SCRIPT, resolveSettings } from '../src/settings';
import { configChecksum, renderFiles } from '../src/shared-config';
import { CUSTOM_PROPS } from './support/chart-variants';

const RELEASES: Array<[string, RedisSentinelChartProps]> = [
  ['default', {}],
  ['backup and restore', { backup: true, restoreFrom: 'latest' }],
  ['auth off', { auth: false, backup: true }],
  ['customised', { ...CUSTOM_PROPS, restoreFrom: 'cache-20260101T020000Z.rdb' }],
  ['other name and namespace', { name: 'session', namespace: 'prod', sentinels: 5, masterName: 'sessions' }],
];
const files = (props: RedisSentinelChartProps) => renderFiles(resolveSettings(props, props.name ?? 'redis'));

describe.each(RELEASES)('%s', (_label, props) => {
  const scripts = files(props).scripts;

  it('ships every script exactly as in src/scripts (no per-release rendering), plus constants.sh', () => {
    for (const [f, text] of Object.entries(scripts)) {
      if (f !== SCRIPT.constants) expect({ f, text }).toEqual({ f, text: SHELL_FILES[f] });
    }
    const always = [SCRIPT.constants, SCRIPT.lib, SCRIPT.redisStart, SCRIPT.sentinelStart, SCRIPT.preStop, SCRIPT.redisProbe, SCRIPT.sentinelProbe];
    const expected = [...always, ...(props.backup ? [SCRIPT.backup] : []), ...(props.restoreFrom ? [SCRIPT.restore] : [])];
    expect(Object.keys(scripts).sort()).toEqual(expected.sort());
  });
});

it('only constants.sh differs between releases', () => {
  const a = files(RELEASES[1][1]).scripts;
  const b = files({ ...CUSTOM_PROPS, backup: true, restoreFrom: 'latest' }).scripts;
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  expect(Object.keys(a).filter((f) => a[f] !== b[f])).toEqual([SCRIPT.constants]);
});

describe('the config checksum', () => {
  it('covers constants.sh: a value only the scripts read rolls the Redis pods', () => {
    const before = resolveSettings({}, 'redis');
    const after = resolveSettings({ downAfter: Duration.seconds(8) }, 'redis');
    // Only the failover wait of the preStop hook changes for Redis pods.
    expect(renderFiles(after).redisConf).toBe(renderFiles(before).redisConf);
    expect(renderFiles(after).scripts[SCRIPT.constants]).not.toBe(renderFiles(before).scripts[SCRIPT.constants]);
    expect(configChecksum(after).redis).not.toBe(configChecksum(before).redis);
  });

  it('does not cover the backup and restore scripts (their pods read their values from their env)', () => {
    const off = configChecksum(resolveSettings({}, 'redis'));
    expect(configChecksum(resolveSettings({ backup: true, restoreFrom: 'latest', backupRetention: 3 }, 'redis'))).toEqual(off);
  });
});
