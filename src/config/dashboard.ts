/**
 * A Grafana dashboard (JSON model, schemaVersion 39) for one Redis + Sentinel deployment, from the
 * same redis_exporter metrics as the alert rules: which pod is master over time, failovers
 * (Sentinel config epoch), replication offsets and lag, Sentinel health, memory, commands/s,
 * clients and keys. The output is deterministic: no timestamps, no random ids.
 *
 * Every query filters by `namespace` and by the metrics Service it means (the Sentinel exporter
 * reports `redis_up`, `redis_connected_clients` etc. for the Sentinel process too).
 */
import { createHash } from 'crypto';
import { endpointQueries } from './endpoint-alerts';

export interface DashboardOptions {
  /** Namespace of the deployment. */
  readonly namespace: string;
  /** Sentinel's name for the monitored master. */
  readonly masterName: string;
  /** Metrics Service of the Redis pods (the `service` label). */
  readonly redisMetricsService: string;
  /** Metrics Service of the Sentinel pods (the `service` label). */
  readonly sentinelMetricsService: string;
  /** @default `Redis Sentinel <namespace>/<masterName> (<redisMetricsService>)` */
  readonly title?: string;
  /** Grafana uid: at most 40 letters, digits, '-' or '_'. @default - derived from namespace and Service */
  readonly uid?: string;
  /** The master endpoint's panels (RedisMasterEndpoint). @default - none */
  readonly endpoint?: { readonly metricsService: string; readonly sentinels: number };
}

const UID = /^[A-Za-z0-9_-]{1,40}$/;
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

/** A PromQL string literal. */
function str(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

interface Query { expr: string; legend: string }
interface PanelSpec {
  type: 'stat' | 'timeseries';
  title: string;
  description: string;
  unit: string;
  queries: Query[];
  /** Step lines for state-like series (roles, epochs, 0/1 flags). */
  steps?: boolean;
  thresholds?: Array<{ color: string; value: number | null }>;
  mappings?: object[];
  w: number;
  h: number;
}

/** The master endpoint: which Redis pod each HAProxy pod routes to, backends up, sessions. */
function endpointPanels(o: DashboardOptions): PanelSpec[] {
  if (!o.endpoint) return [];
  const q = endpointQueries(o.namespace, o.endpoint.metricsService, o.endpoint.sentinels);
  return [
    {
      type: 'timeseries', title: 'Master endpoint: Redis pod it routes writes to (1 = routed)', unit: 'none', w: 12, h: 8, steps: true,
      description: `Per HAProxy pod and Redis pod: 1 while the Redis pod says role:master AND at least ${q.majority} of ${o.endpoint.sentinels} Sentinels name it (the endpoint routes there). All 0: connections are closed (Sentinels disagree or unreachable).`,
      queries: [{ expr: `max by (backend) (${q.routable}) or max by (backend) (${q.roleMaster}) * 0`, legend: '{{backend}}' }],
    },
    {
      type: 'timeseries', title: 'Master endpoint: Sentinels naming each Redis pod', unit: 'none', w: 12, h: 8, steps: true,
      description: 'Per Redis pod: how many Sentinels name it as master, as the HAProxy pods see it (lowest over the HAProxy pods).',
      queries: [{ expr: `min by (backend) (${q.namedBy})`, legend: '{{backend}}' }],
    },
    {
      type: 'timeseries', title: 'Master endpoint: backends up', unit: 'none', w: 12, h: 8, steps: true,
      description: 'Redis pods reporting role:master (should be 1, briefly 2 after a failover) and replicas in the replicas endpoint, per HAProxy pod.',
      queries: [
        { expr: `count by (pod) (${q.roleMaster} == 1)`, legend: 'role:master seen by {{pod}}' },
        { expr: `max by (pod) (haproxy_backend_active_servers{${q.sel},proxy="replicas"})`, legend: 'replicas up in {{pod}}' },
      ],
    },
    {
      type: 'timeseries', title: 'Master endpoint: client sessions', unit: 'none', w: 12, h: 8,
      description: 'Open client sessions of the master and replicas endpoints, summed over the HAProxy pods.',
      queries: [{ expr: `sum by (proxy) (haproxy_frontend_current_sessions{${q.sel},proxy=~"master|replicas"})`, legend: '{{proxy}}' }],
    },
  ];
}

/** Renders the dashboard JSON model. */
/** PromQL selectors of the deployment's series. */
function selectors(o: DashboardOptions) {
  const R = `namespace=${str(o.namespace)},service=${str(o.redisMetricsService)}`;
  const S = `namespace=${str(o.namespace)},service=${str(o.sentinelMetricsService)}`;
  const SM = `${S},master_name=${str(o.masterName)}`;
  const isMaster = `redis_instance_info{${R},role="master"}`;
  const epoch = `redis_sentinel_master_config_epoch{${SM}}`;

  return { R, S, SM, isMaster, epoch };
}

type Selectors = ReturnType<typeof selectors>;

/** The top row: one number each (masters, pods up, quorum, TILT). */
function statPanels(q: Selectors): PanelSpec[] {
  const { R, S, SM, isMaster } = q;
  const okFail = [{ type: 'value', options: { 0: { text: 'FAIL', color: 'red', index: 0 }, 1: { text: 'OK', color: 'green', index: 1 } } }];
  return [
    {
      type: 'stat', title: 'Masters', unit: 'none', w: 4, h: 4,
      description: 'Redis pods reporting role master. Exactly 1 is healthy; 0 means writes fail, 2 or more is split brain.',
      queries: [{ expr: `count(${isMaster}) or vector(0)`, legend: 'masters' }],
      thresholds: [{ color: 'red', value: null }, { color: 'green', value: 1 }, { color: 'red', value: 2 }],
    },
    {
      type: 'stat', title: 'Redis pods up', unit: 'none', w: 4, h: 4,
      description: 'Redis pods whose exporter reaches Redis (redis_up == 1).',
      queries: [{ expr: `count(redis_up{${R}} == 1) or vector(0)`, legend: 'up' }],
      thresholds: [{ color: 'red', value: null }, { color: 'blue', value: 1 }],
    },
    {
      type: 'stat', title: 'Replicas connected to the master', unit: 'none', w: 4, h: 4,
      description: 'connected_slaves of the pod that reports role master.',
      queries: [{ expr: `max(redis_connected_slaves{${R}} and on(namespace, pod) ${isMaster})`, legend: 'replicas' }],
      thresholds: [{ color: 'blue', value: null }],
    },
    {
      type: 'stat', title: 'Sentinels up', unit: 'none', w: 4, h: 4,
      description: 'Sentinel pods whose exporter reaches Sentinel (redis_up == 1 on the Sentinel metrics Service).',
      queries: [{ expr: `count(redis_up{${S}} == 1) or vector(0)`, legend: 'up' }],
      thresholds: [{ color: 'red', value: null }, { color: 'blue', value: 1 }],
    },
    {
      type: 'stat', title: 'CKQUORUM', unit: 'none', w: 4, h: 4,
      description: 'Worst SENTINEL CKQUORUM result over the Sentinels: OK when every Sentinel could authorize a failover now.',
      queries: [{ expr: `min(redis_sentinel_master_ckquorum_status{${SM}})`, legend: 'ckquorum' }],
      thresholds: [{ color: 'red', value: null }, { color: 'green', value: 1 }],
      mappings: okFail,
    },
    {
      type: 'stat', title: 'Sentinels in TILT', unit: 'none', w: 4, h: 4,
      description: 'Sentinels in TILT mode (clock jump or stalled process): they do not act for at least 30 s.',
      queries: [{ expr: `sum(redis_sentinel_tilt{${S}}) or vector(0)`, legend: 'tilt' }],
      thresholds: [{ color: 'green', value: null }, { color: 'red', value: 1 }],
    },
  ];
}

/** Roles, failovers and replication over time. */
function roleAndFailoverPanels(q: Selectors): PanelSpec[] {
  const { R, SM, isMaster, epoch } = q;
  return [
    {
      type: 'timeseries', title: 'Role per pod (1 = master, 0 = replica)', unit: 'none', w: 12, h: 8, steps: true,
      description: 'Which pod is master over time. A step from one pod to another is a failover.',
      queries: [{
        expr: `max by (pod) (${isMaster}) or max by (pod) (redis_instance_info{${R}}) * 0`,
        legend: '{{pod}}',
      }],
    },
    {
      type: 'timeseries', title: 'Failovers: Sentinel config epoch', unit: 'none', w: 12, h: 8, steps: true,
      description: 'The configuration epoch each Sentinel reports for the master; it rises by one with every failover. Needs redis_exporter >= v1.80.',
      queries: [{ expr: `max by (pod) (${epoch})`, legend: '{{pod}}' }],
    },
    {
      type: 'timeseries', title: 'Replication offsets', unit: 'bytes', w: 12, h: 8,
      description: 'The master\'s replication offset and each replica\'s processed offset: they should move together.',
      queries: [
        { expr: `max by (pod) (redis_master_repl_offset{${R}} and on(namespace, pod) ${isMaster})`, legend: 'master {{pod}}' },
        { expr: `max by (pod) (redis_slave_repl_offset{${R}})`, legend: 'replica {{pod}}' },
      ],
    },
    {
      type: 'timeseries', title: 'Replica bytes behind the master', unit: 'bytes', w: 12, h: 8,
      description: 'Master offset minus each replica\'s acknowledged offset, as the master sees it.',
      queries: [{
        expr: `redis_master_repl_offset{${R}} - on(namespace, pod) group_right redis_connected_slave_offset_bytes{${R}}`,
        legend: '{{slave_ip}}',
      }],
    },
    {
      type: 'timeseries', title: 'Replica ACK age', unit: 's', w: 12, h: 8,
      description: 'Seconds since the master last received a replication ACK from each replica (compared with min-replicas-max-lag).',
      queries: [{ expr: `max by (slave_ip, slave_state) (redis_connected_slave_lag_seconds{${R}})`, legend: '{{slave_ip}} ({{slave_state}})' }],
    },
    {
      type: 'timeseries', title: 'Replica link to master up', unit: 'none', w: 12, h: 8, steps: true,
      description: 'master_link_status of each replica: 1 up, 0 down.',
      queries: [{ expr: `max by (pod) (redis_master_link_up{${R}})`, legend: '{{pod}}' }],
    },
    {
      type: 'timeseries', title: 'Sentinel: Sentinels and replicas seen', unit: 'none', w: 12, h: 8, steps: true,
      description: 'Per Sentinel: healthy Sentinels including itself, Sentinels known, healthy replicas, replicas known.',
      queries: [
        { expr: `max by (pod) (redis_sentinel_master_ok_sentinels{${SM}})`, legend: '{{pod}} ok sentinels' },
        { expr: `max by (pod) (redis_sentinel_master_sentinels{${SM}})`, legend: '{{pod}} known sentinels' },
        { expr: `max by (pod) (redis_sentinel_master_ok_slaves{${SM}})`, legend: '{{pod}} ok replicas' },
        { expr: `max by (pod) (redis_sentinel_master_slaves{${SM}})`, legend: '{{pod}} known replicas' },
      ],
    },
  ];
}

/** Clients, memory, commands and persistence over time. */
function resourcePanels(q: Selectors): PanelSpec[] {
  const { R, S, SM, isMaster } = q;
  return [
    {
      type: 'timeseries', title: 'Sentinel: master status, CKQUORUM, TILT', unit: 'none', w: 12, h: 8, steps: true,
      description: 'Per Sentinel: master status ok (1) or sdown/odown (0), CKQUORUM ok (1), TILT (1).',
      queries: [
        { expr: `max by (pod) (redis_sentinel_master_status{${SM}})`, legend: '{{pod}} master ok' },
        { expr: `max by (pod) (redis_sentinel_master_ckquorum_status{${SM}})`, legend: '{{pod}} ckquorum ok' },
        { expr: `max by (pod) (redis_sentinel_tilt{${S}})`, legend: '{{pod}} tilt' },
      ],
    },
    {
      type: 'timeseries', title: 'Memory used vs maxmemory', unit: 'bytes', w: 12, h: 8,
      description: 'used_memory of each Redis pod and its maxmemory (where set).',
      queries: [
        { expr: `max by (pod) (redis_memory_used_bytes{${R}})`, legend: '{{pod}} used' },
        { expr: `max by (pod) (redis_memory_max_bytes{${R}} > 0)`, legend: '{{pod}} maxmemory' },
      ],
    },
    {
      type: 'timeseries', title: 'Commands per second', unit: 'ops', w: 12, h: 8,
      description: 'Commands processed per second by each Redis pod.',
      queries: [{ expr: `sum by (pod) (rate(redis_commands_processed_total{${R}}[$__rate_interval]))`, legend: '{{pod}}' }],
    },
    {
      type: 'timeseries', title: 'Connected clients', unit: 'none', w: 12, h: 8,
      description: 'Client connections of each Redis pod (replicas and the exporter count too).',
      queries: [{ expr: `max by (pod) (redis_connected_clients{${R}})`, legend: '{{pod}}' }],
    },
    {
      type: 'timeseries', title: 'Keys per database (master)', unit: 'none', w: 12, h: 8,
      description: 'Keys in each database of the pod that reports role master.',
      queries: [{ expr: `sum by (db) (redis_db_keys{${R}} and on(namespace, pod) ${isMaster})`, legend: '{{db}}' }],
    },
    {
      type: 'timeseries', title: 'Time since last RDB save', unit: 's', w: 12, h: 8,
      description: 'Seconds since each pod\'s last successful RDB snapshot.',
      queries: [{ expr: `time() - max by (pod) (redis_rdb_last_save_timestamp_seconds{${R}})`, legend: '{{pod}}' }],
    },
    {
      type: 'timeseries', title: 'Last RDB save ok', unit: 'none', w: 12, h: 8, steps: true,
      description: 'rdb_last_bgsave_status of each pod: 1 ok, 0 failed (a master then refuses writes with MISCONF).',
      queries: [{ expr: `max by (pod) (redis_rdb_last_bgsave_status{${R}})`, legend: '{{pod}}' }],
    },
  ];
}

/** One panel of the Grafana JSON model at `gridPos`. */
function panelJson(p: PanelSpec, index: number, gridPos: { h: number; w: number; x: number; y: number }): object {
  const targets = p.queries.map((q, i) => ({
    datasource: DATASOURCE,
    expr: q.expr,
    legendFormat: q.legend,
    range: true,
    refId: String.fromCharCode(65 + i),
  }));
  const thresholds = { mode: 'absolute', steps: p.thresholds ?? [{ color: 'green', value: null }] };
  if (p.type === 'stat') {
    return {
      id: index + 1,
      type: 'stat',
      title: p.title,
      description: p.description,
      datasource: DATASOURCE,
      gridPos,
      targets,
      fieldConfig: { defaults: { unit: p.unit, decimals: 0, thresholds, mappings: p.mappings ?? [], color: { mode: 'thresholds' } }, overrides: [] },
      options: {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'background',
        graphMode: 'none',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
      },
    };
  }
  return {
    id: index + 1,
    type: 'timeseries',
    title: p.title,
    description: p.description,
    datasource: DATASOURCE,
    gridPos,
    targets,
    fieldConfig: {
      defaults: {
        unit: p.unit,
        thresholds,
        mappings: [],
        color: { mode: 'palette-classic' },
        custom: {
          drawStyle: 'line',
          lineInterpolation: p.steps ? 'stepAfter' : 'linear',
          lineWidth: 1,
          fillOpacity: 0,
          showPoints: 'never',
          spanNulls: false,
        },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'table', placement: 'bottom', showLegend: true, calcs: ['lastNotNull', 'max'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  };
}

export function renderDashboard(o: DashboardOptions): object {
  for (const key of ['namespace', 'masterName', 'redisMetricsService', 'sentinelMetricsService'] as const) {
    if (typeof o[key] !== 'string' || o[key].length === 0) throw new Error(`renderDashboard: ${key} ('${o[key]}') must be a non-empty string`);
  }
  if (o.uid !== undefined && !UID.test(o.uid)) {
    throw new Error(`renderDashboard: uid ('${o.uid}') must be 1-40 letters, digits, '-' or '_' (Grafana's limit)`);
  }
  const natural = `redis-${o.namespace}-${o.redisMetricsService}`;
  const uid = o.uid ?? (UID.test(natural)
    ? natural
    : `redis-${createHash('sha1').update(`${o.namespace}/${o.redisMetricsService}`).digest('hex').slice(0, 34)}`);
  const title = o.title ?? `Redis Sentinel ${o.namespace}/${o.masterName} (${o.redisMetricsService})`;

  const q = selectors(o);
  const specs = [...statPanels(q), ...roleAndFailoverPanels(q), ...resourcePanels(q), ...endpointPanels(o)];

  // Lay panels out left to right, top to bottom, on Grafana's 24-column grid.
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const panels = specs.map((p, index) => {
    if (x + p.w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridPos = { h: p.h, w: p.w, x, y };
    x += p.w;
    rowHeight = Math.max(rowHeight, p.h);
    return panelJson(p, index, gridPos);
  });


  return {
    uid,
    title,
    description: `Redis + Sentinel deployment: master ${o.masterName} in namespace ${o.namespace}, metrics Services ${o.redisMetricsService} and ${o.sentinelMetricsService}.`,
    tags: ['redis', 'redis-sentinel', 'cdk8s-redis-sentinel'],
    editable: true,
    graphTooltip: 1,
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    fiscalYearStartMonth: 0,
    liveNow: false,
    links: [],
    templating: {
      list: [{
        name: 'datasource',
        label: 'Data source',
        type: 'datasource',
        query: 'prometheus',
        current: {},
        hide: 0,
        includeAll: false,
        multi: false,
        options: [],
        refresh: 1,
        regex: '',
      }],
    },
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
        {
          name: 'Failovers',
          datasource: DATASOURCE,
          enable: true,
          hide: false,
          iconColor: 'red',
          // The set's highest config epoch rose within the last step: a failover.
          expr: `max(${q.epoch}) > max(${q.epoch} offset 1m)`,
          step: '1m',
          titleFormat: 'Failover',
          textFormat: 'The Sentinels\' highest config epoch rose: a new master was promoted',
        },
      ],
    },
    panels,
  };
}
