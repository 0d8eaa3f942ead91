/**
 * Grafana dashboard: a valid, deterministic JSON model whose every query reads only metric names
 * redis_exporter really exports, filtered by namespace and the right Service, and parses as PromQL
 * (`promtool check rules` on the queries as recording rules).
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { stringify } from 'yaml';
import { PROMETHEUS_TARGET_METRICS, REDIS_EXPORTER_METRICS } from '../../src/config/alerts';
import { metricNamesIn } from '../support/promql';
import { DashboardOptions, renderDashboard } from '../../src/config/dashboard';
import { HAPROXY_METRICS } from '../../src/config/endpoint-alerts';

const O: DashboardOptions = {
  namespace: 'cache',
  masterName: 'mymaster',
  redisMetricsService: 'cache-metrics',
  sentinelMetricsService: 'cache-sentinel-metrics',
  // The master endpoint's panels (RedisMasterEndpoint) are part of every check below.
  endpoint: { metricsService: 'cache-proxy-metrics', sentinels: 3 },
};

interface Target { refId: string; expr: string; legendFormat: string; datasource: { type: string; uid: string } }
interface Panel {
  id: number; type: string; title: string; description: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: string; uid: string };
  targets: Target[];
}
interface Dashboard {
  uid: string; title: string; schemaVersion: number; panels: Panel[];
  templating: { list: Array<Record<string, unknown>> };
  annotations: { list: Array<Record<string, unknown>> };
}

const dashboard = renderDashboard(O) as Dashboard;

/** Every `expr` anywhere in the model (panel targets and annotation queries). */
function exprsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => exprsIn(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'expr' && typeof v === 'string') out.push(v);
      else exprsIn(v, out);
    }
  }
  return out;
}

describe('renderDashboard', () => {
  it('is a plain JSON model (round-trips through JSON unchanged) with schemaVersion 39', () => {
    expect(JSON.parse(JSON.stringify(dashboard))).toEqual(dashboard);
    expect(dashboard.schemaVersion).toBe(39);
    expect(dashboard.uid).toBe('redis-cache-cache-metrics');
    expect(dashboard.title).toBe('Redis Sentinel cache/mymaster (cache-metrics)');
    expect(dashboard).not.toHaveProperty('id');
  });

  it('has a `datasource` template variable of type prometheus, used by every panel and target', () => {
    const v = dashboard.templating.list.find((x) => x.name === 'datasource');
    expect(v).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const p of dashboard.panels) {
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const t of p.targets) expect(t.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('gives panels unique ids, titles, a target each, unique refIds, and a non-overlapping layout on 24 columns', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const titles = dashboard.panels.map((p) => p.title);
    expect(new Set(titles).size).toBe(titles.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      expect(['stat', 'timeseries']).toContain(p.type);
      expect(p.description.length).toBeGreaterThan(10);
      expect(p.targets.length).toBeGreaterThan(0);
      expect(new Set(p.targets.map((t) => t.refId)).size).toBe(p.targets.length);
      for (const t of p.targets) expect(t.expr.length).toBeGreaterThan(0);
      const { x, y, w, h } = p.gridPos;
      expect(x >= 0 && w > 0 && x + w <= 24 && y >= 0 && h > 0).toBe(true);
      for (let i = x; i < x + w; i++) {
        for (let j = y; j < y + h; j++) {
          const cell = `${i},${j}`;
          expect(cells.has(cell)).toBe(false);
          cells.add(cell);
        }
      }
    }
  });

  it('reads only metric names redis_exporter really exports', () => {
    const known = new Set([...REDIS_EXPORTER_METRICS, ...PROMETHEUS_TARGET_METRICS, ...HAPROXY_METRICS]);
    const exprs = exprsIn(dashboard);
    expect(exprs.length).toBeGreaterThan(dashboard.panels.length);
    for (const e of exprs) {
      const names = metricNamesIn(e);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect({ expr: e, name, known: known.has(name) }).toEqual({ expr: e, name, known: true });
    }
  });

  it('filters every selector by namespace and the right Service (Sentinel metrics also by master name)', () => {
    for (const e of exprsIn(dashboard)) {
      // No bare metric name: each one is followed by its matchers.
      const bare = e.replace(/\{[^}]*\}/g, '{}');
      for (const name of metricNamesIn(e)) expect(bare).not.toMatch(new RegExp(`\\b${name}\\b(?!\\{)`));
      for (const m of e.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\{([^}]*)\}/g)) {
        expect(m[2]).toContain('namespace="cache"');
        const service = /service="([^"]*)"/.exec(m[2])?.[1];
        // Sentinel metrics come from the Sentinel Service; the others from the Redis Service, except
        // the "Sentinels up" count (redis_up of the Sentinel exporters).
        if (m[1].startsWith('haproxy_')) expect(service).toBe('cache-proxy-metrics');
        else if (m[1].startsWith('redis_sentinel_')) expect(service).toBe('cache-sentinel-metrics');
        else if (service === 'cache-sentinel-metrics') expect(m[1]).toBe('redis_up');
        else expect(service).toBe('cache-metrics');
        if (m[1].startsWith('redis_sentinel_master_')) expect(m[2]).toContain('master_name="mymaster"');
      }
    }
  });

  it('shows the master endpoint: the Redis pod it routes to, Sentinels naming each pod, backends up, sessions; none without one', () => {
    const titles = dashboard.panels.map((p) => p.title).filter((x) => x.startsWith('Master endpoint'));
    expect(titles).toEqual([
      'Master endpoint: Redis pod it routes writes to (1 = routed)', 'Master endpoint: Sentinels naming each Redis pod',
      'Master endpoint: backends up', 'Master endpoint: client sessions',
    ]);
    const all = exprsIn(dashboard).join('\n');
    expect(all).toContain('haproxy_backend_active_servers{namespace="cache",service="cache-proxy-metrics",proxy=~"named_.+"}');
    expect(all).toContain('>= 2');
    expect(all).toContain('haproxy_frontend_current_sessions');
    const without = renderDashboard({ ...O, endpoint: undefined }) as Dashboard;
    expect(without.panels.some((p) => p.title.startsWith('Master endpoint'))).toBe(false);
  });

  it('shows roles, failovers, replication offsets and lag, Sentinel health, memory, commands/s, clients and keys', () => {
    const all = exprsIn(dashboard).join('\n');
    for (const needle of [
      'redis_instance_info{namespace="cache",service="cache-metrics",role="master"}',
      'redis_sentinel_master_config_epoch',
      'redis_master_repl_offset', 'redis_slave_repl_offset', 'redis_connected_slave_offset_bytes', 'redis_connected_slave_lag_seconds',
      'redis_sentinel_master_ok_sentinels', 'redis_sentinel_master_ckquorum_status', 'redis_sentinel_tilt', 'redis_sentinel_master_status',
      'redis_memory_used_bytes', 'redis_memory_max_bytes',
      'rate(redis_commands_processed_total{namespace="cache",service="cache-metrics"}[$__rate_interval])',
      'redis_connected_clients{namespace="cache",service="cache-metrics"}', 'redis_db_keys',
    ]) expect(all).toContain(needle);
    // A failover annotation from the config epoch.
    expect(dashboard.annotations.list.some((a) => a.name === 'Failovers' && String(a.expr).includes('redis_sentinel_master_config_epoch'))).toBe(true);
  });

  it('is deterministic: the same options give the same JSON, with no timestamps', () => {
    const text = JSON.stringify(renderDashboard(O));
    expect(JSON.stringify(renderDashboard({ ...O }))).toBe(text);
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:/);
    expect(text).not.toMatch(/\b\d{12,}\b/);
  });

  it('takes title and uid from the options, and derives a short stable uid from long names', () => {
    expect(renderDashboard({ ...O, title: 'T', uid: 'my-uid' })).toMatchObject({ title: 'T', uid: 'my-uid' });
    const long = renderDashboard({ ...O, namespace: 'a-very-long-namespace-name', redisMetricsService: 'a-very-long-service-name-metrics' }) as Dashboard;
    expect(long.uid).toMatch(/^redis-[0-9a-f]{34}$/);
    expect(long.uid.length).toBeLessThanOrEqual(40);
    expect((renderDashboard({ ...O, namespace: 'a-very-long-namespace-name', redisMetricsService: 'a-very-long-service-name-metrics' }) as Dashboard).uid).toBe(long.uid);
  });

  it.each([
    [{ uid: 'has space' }, /uid \('has space'\) must be 1-40 letters/],
    [{ uid: 'x'.repeat(41) }, /uid .* must be 1-40 letters/],
    [{ namespace: '' }, /namespace \(''\) must be a non-empty string/],
  ])('fails when %j', (change, message) => {
    expect(() => renderDashboard({ ...O, ...change })).toThrow(message);
  });

  it('every query parses as PromQL (promtool check rules, as recording rules)', () => {
    const r = spawnSync('sh', ['-c', 'command -v promtool'], { stdio: 'pipe' });
    if (r.status !== 0) throw new Error('promtool is not installed: install the Debian package `prometheus` (apt-get install prometheus)');
    const dir = mkdtempSync(join(tmpdir(), 'redis-dashboard-'));
    try {
      const exprs = exprsIn(dashboard).map((e) => e.replace(/\$__rate_interval/g, '5m'));
      const file = join(dir, 'queries.yaml');
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })) }] }));
      const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(`${check.stdout}${check.stderr}`).toContain(`SUCCESS: ${exprs.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
