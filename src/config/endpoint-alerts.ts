/**
 * Alerts and dashboard queries of the master endpoint, from HAProxy's built-in Prometheus exporter
 * (`http-request use-service prometheus-exporter`) on the HAProxy pods, scraped through the
 * `<name>-proxy-metrics` Service. Backend names come from src/config/haproxy-cfg.ts: `master_<pod>`
 * (up = the pod says role:master), `named_<pod>` (one server per Sentinel; up = that Sentinel names the
 * pod), `no_master` (exists on every HAProxy pod), `replicas`.
 *
 * @see https://github.com/haproxy/haproxy/tree/master/addons/promex
 */
import { RuleGroup } from './alerts';

/** The HAProxy exporter series the rules and dashboard panels read (checked against a real haproxy in test/integration). */
export const HAPROXY_METRICS: readonly string[] = [
  'haproxy_backend_active_servers',
  'haproxy_frontend_current_sessions',
  'haproxy_backend_current_sessions',
];

export interface EndpointAlertOptions {
  /** Namespace of the deployment (the `namespace` label of every series). */
  readonly namespace: string;
  /** Metrics Service of the HAProxy pods (the `service` label). */
  readonly metricsService: string;
  /** Name of the HAProxy Deployment (for the descriptions). */
  readonly proxy: string;
  /** `<name>-master`, for the descriptions. */
  readonly masterService: string;
  /** Sentinel pods: a strict majority of them must name the master. */
  readonly sentinels: number;
  /** Name of the rule group (unique within the PrometheusRule). */
  readonly groupName: string;
  /** Extra labels on every alert. */
  readonly alertLabels?: Record<string, string>;
}

const str = (v: string) => JSON.stringify(v);

/** PromQL pieces over the endpoint's series. */
export function endpointQueries(namespace: string, metricsService: string, sentinels: number) {
  const sel = `namespace=${str(namespace)},service=${str(metricsService)}`;
  const majority = Math.floor(sentinels / 2) + 1;
  const backends = (prefix: string) => `haproxy_backend_active_servers{${sel},proxy=~"${prefix}_.+"}`;
  /** Per HAProxy pod and Redis pod (label `backend`): 1 when that Redis pod says role:master. */
  const roleMaster = `label_replace(${backends('master')}, "backend", "$1", "proxy", "master_(.+)")`;
  /** Per HAProxy pod and Redis pod: how many Sentinels name it. */
  const namedBy = `label_replace(${backends('named')}, "backend", "$1", "proxy", "named_(.+)")`;
  /** Per HAProxy pod: the Redis pods it can route writes to (role:master and named by a majority). */
  const routable = `(${roleMaster} == 1) and on (namespace, pod, backend) (${namedBy} >= ${majority})`;
  return { sel, majority, roleMaster, namedBy, routable };
}

/** Renders the endpoint's rule group: RedisMasterEndpointNoMaster, RedisMasterEndpointMultipleMasters. */
export function renderEndpointAlertRules(o: EndpointAlertOptions): RuleGroup[] {
  const q = endpointQueries(o.namespace, o.metricsService, o.sentinels);
  const kubectl = `kubectl -n ${o.namespace}`;
  const labels = { severity: 'critical', namespace: o.namespace, ...(o.alertLabels ?? {}) };
  return [{
    name: o.groupName,
    rules: [
      {
        alert: 'RedisMasterEndpointNoMaster',
        // no_master exists on every HAProxy pod: one series per pod that routes nowhere.
        expr: `haproxy_backend_active_servers{${q.sel},proxy="no_master"} unless on (namespace, pod) (${q.routable})`,
        for: '1m',
        labels,
        annotations: {
          summary: `HAProxy pod {{ $labels.pod }} of ${o.namespace}/${o.proxy} routes writes nowhere`,
          description: [
            `No Redis pod both reports role:master and is named by a majority (${q.majority} of ${o.sentinels}) of the Sentinels, as seen from this HAProxy pod, for 1 minute:`,
            `clients of ${o.masterService} get their connections closed. Either the Sentinels disagree or cannot be reached from the proxy, or the pod they name does not say role:master.`,
            `Check: ${kubectl} logs {{ $labels.pod }} (check results per server); the Sentinels' view: SENTINEL get-master-addr-by-name on each;`,
            'the NetworkPolicies (proxy -> Redis and Sentinel).',
          ].join(' '),
        },
      },
      {
        alert: 'RedisMasterEndpointMultipleMasters',
        expr: `count by (namespace, pod) (${q.roleMaster} == 1) > 1`,
        for: '1m',
        labels,
        annotations: {
          summary: `HAProxy pod {{ $labels.pod }} of ${o.namespace}/${o.proxy} sees {{ $value }} Redis pods reporting role:master`,
          description: [
            'More than one Redis pod has said role:master for 1 minute (an old master is normally demoted within seconds of a failover).',
            `The endpoint still routes only to the one a Sentinel majority names, but a client of ${o.masterService} that connected before may not be the only writer: check for split brain`,
            '(RedisMultipleMasters, the Sentinels\' view, and the isolated pod\'s min-replicas-to-write).',
          ].join(' '),
        },
      },
    ],
  }];
}
