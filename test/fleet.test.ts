import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, Duration } from 'cdk8s';
import { Fleet, Release, ReleaseSynthError, RedisSentinelChart, RedisSentinelConfigError, synthReleases } from '../src';
import { EXAMPLE_CHART_ID, EXAMPLE_MONITORING, EXAMPLE_PROPS } from '../src/example';

/** The example's deployment with its monitoring in the same Chart (a release is one Chart). */
const EXAMPLE_RELEASE_PROPS = { ...EXAMPLE_PROPS, monitoring: EXAMPLE_MONITORING };

const RELEASES: Release[] = [
  { id: 'tenant-a', props: { ...EXAMPLE_RELEASE_PROPS, name: 'cache-a', namespace: 'tenant-a' } },
  { id: 'tenant-b', props: { namespace: 'tenant-b', networkPolicy: false, replicas: 1 } },
  { id: 'tenant-c', props: { namespace: 'tenant-c', sentinels: 5, downAfter: Duration.seconds(3), failoverTimeout: Duration.seconds(9) } },
  { id: 'tenant-d' },
];

let dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fleet-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** What one App holding every release's chart writes with app.synth(): file name to content. */
function synthInOneApp(releases: Release[]): Map<string, string> {
  const out = tempDir();
  const app = new App({ outdir: out });
  for (const r of releases) new RedisSentinelChart(app, r.id, r.props);
  app.synth();
  return new Map(readdirSync(out).sort().map((f) => [f, readFileSync(join(out, f), 'utf8')]));
}

describe('synthReleases', () => {
  it('writes, per release, the same bytes as app.synth() of one App holding all the charts', () => {
    const expected = synthInOneApp(RELEASES);
    const out = tempDir();
    const results = synthReleases(RELEASES, { outdir: out });

    expect(readdirSync(out).sort()).toEqual([...expected.keys()]);
    expect([...expected.keys()]).toEqual(['tenant-a.k8s.yaml', 'tenant-b.k8s.yaml', 'tenant-c.k8s.yaml', 'tenant-d.k8s.yaml']);
    for (const [file, content] of expected) {
      // Prefix with the file name so a failure says which release differs.
      expect(`${file}:\n${readFileSync(join(out, file), 'utf8')}`).toBe(`${file}:\n${content}`);
    }
    expect(results.map((r) => r.id)).toEqual(RELEASES.map((r) => r.id));
    for (const r of results) {
      expect(r.file).toBe(join(out, `${r.id}.k8s.yaml`));
      expect(r.yaml).toBe(expected.get(`${r.id}.k8s.yaml`));
    }
  });

  // The committed example (dist/) is two Charts, the deployment and its monitoring, which one release
  // (one Chart) cannot reproduce: this compares with app.synth() of the example's deployment in one Chart.
  it('returns for the example release what app.synth() writes, writing nothing without outdir', () => {
    const release = { id: EXAMPLE_CHART_ID, props: EXAMPLE_RELEASE_PROPS };
    const [result] = synthReleases([release]);
    expect(result.file).toBeUndefined();
    expect(result.yaml).toBe(synthInOneApp([release]).get(`${EXAMPLE_CHART_ID}.k8s.yaml`));
    expect(result.yaml).toContain('kind: ServiceMonitor');
  });

  it('runs every chart\'s validation, as often as app.synth() of a lone chart does (not once per chart in the fleet)', () => {
    // cdk8s validates the whole App in synth() and again in each Chart.toJson(): a lone chart is
    // validated twice, while each of N charts in one App is validated N + 1 times.
    let lone = 0;
    const app = new App({ outdir: tempDir() });
    new RedisSentinelChart(app, 'lone').node.addValidation({ validate: () => { lone++; return []; } });
    app.synth();
    expect(lone).toBeGreaterThan(0);

    const calls = new Map<string, number>();
    synthReleases(RELEASES, {
      configurer: {
        configure: (chart, release) => chart.node.addValidation({
          validate: () => { calls.set(release.id, (calls.get(release.id) ?? 0) + 1); return []; },
        }),
      },
    });
    expect([...calls]).toEqual(RELEASES.map((r) => [r.id, lone]));
  });

  it('fails when a chart\'s validation fails, naming the release; earlier releases are written, later ones not', () => {
    const out = tempDir();
    let error: unknown;
    try {
      synthReleases(RELEASES, {
        outdir: out,
        configurer: {
          configure: (chart, release) => {
            if (release.id === 'tenant-b') chart.node.addValidation({ validate: () => ['tenant-b is not allowed here'] });
          },
        },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ReleaseSynthError);
    expect((error as ReleaseSynthError).releaseId).toBe('tenant-b');
    expect((error as Error).message).toMatch(/^release "tenant-b": Validation failed with the following errors:\n {2}\[tenant-b\] tenant-b is not allowed here/);
    expect(readdirSync(out)).toEqual(['tenant-a.k8s.yaml']);
  });

  it('fails when a release has invalid props, with the original error as cause', () => {
    let error: unknown;
    try {
      synthReleases([{ id: 'ok' }, { id: 'bad', props: { sentinels: 2 } }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ReleaseSynthError);
    expect((error as ReleaseSynthError).cause).toBeInstanceOf(RedisSentinelConfigError);
    expect((error as Error).message).toMatch(/^release "bad": Invalid Redis Sentinel configuration at bad\/Resource:\n[^\n]*sentinels \(2\)/);
  });

  it('fails when two releases have the same id', () => {
    expect(() => synthReleases([{ id: 'same', props: { namespace: 'a' } }, { id: 'same', props: { namespace: 'b' } }]))
      .toThrow(/release "same": a release with id "same" was already synthesized/);
  });

  it('streams: consumes the releases lazily, hands each YAML to onRelease, and keeps none with keepYaml: false', () => {
    const out = tempDir();
    const events: string[] = [];
    function* releases(): Generator<Release> {
      for (const id of ['s1', 's2', 's3']) {
        events.push(`yield ${id}`);
        yield { id, props: { namespace: id } };
      }
    }
    const results = synthReleases(releases(), {
      outdir: out,
      keepYaml: false,
      listener: {
        onRelease: (id, yaml, file) => {
          expect(readFileSync(file!, 'utf8')).toBe(yaml);
          expect(yaml).toContain(`namespace: ${id}\n`);
          events.push(`done ${id}`);
        },
      },
    });
    expect(events).toEqual(['yield s1', 'done s1', 'yield s2', 'done s2', 'yield s3', 'done s3']);
    expect(results).toEqual([
      { id: 's1', file: join(out, 's1.k8s.yaml') },
      { id: 's2', file: join(out, 's2.k8s.yaml') },
      { id: 's3', file: join(out, 's3.k8s.yaml') },
    ]);
  });
});

describe('Fleet.synthReleases (the jsii entry point)', () => {
  it('returns what synthReleases returns, and calls the configurer and the listener', () => {
    const configured: string[] = [];
    const seen: string[] = [];
    const results = Fleet.synthReleases(RELEASES, {
      configurer: { configure: (_chart, release) => { configured.push(release.id); } },
      listener: { onRelease: (id) => { seen.push(id); } },
    });
    expect(results).toEqual(synthReleases(RELEASES));
    expect(configured).toEqual(RELEASES.map((r) => r.id));
    expect(seen).toEqual(RELEASES.map((r) => r.id));
  });
});
