/**
 * What synthesized workloads ask of the cluster's scheduler: the pods each workload runs at once,
 * their effective requests (as the scheduler sums them), and the constraints a single node could not
 * satisfy. Plain functions over synthesized objects, for test/one-node.test.ts and the e2e test.
 */
import { KubeObject } from './synth';

/** A Kubernetes CPU quantity in millicores: '250m' -> 250, '1' -> 1000, '0.5' -> 500. */
export function cpuMillis(q: string | number): number {
  const s = String(q);
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(s);
  if (!m) throw new Error(`not a CPU quantity: '${s}'`);
  return m[2] === 'm' ? Number(m[1]) : Number(m[1]) * 1000;
}

const MEMORY_SUFFIX: Record<string, number> = {
  '': 1, 'k': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12, 'Ki': 2 ** 10, 'Mi': 2 ** 20, 'Gi': 2 ** 30, 'Ti': 2 ** 40,
};

/** A Kubernetes memory quantity in bytes: '512Mi', '1Gi', '128M', '1073741824'. */
export function memoryBytes(q: string | number): number {
  const s = String(q);
  const m = /^(\d+(?:\.\d+)?)([kMGT]i?|Ki)?$/.exec(s);
  if (!m || MEMORY_SUFFIX[m[2] ?? ''] === undefined) throw new Error(`not a memory quantity: '${s}'`);
  return Number(m[1]) * MEMORY_SUFFIX[m[2] ?? ''];
}

export interface Requests { cpuMillis: number; memoryBytes: number }

/** One container's requests (a limit without a request counts as the request, as the API server defaults it). */
function containerRequests(c: any): Requests {
  const r = { ...(c.resources?.limits ?? {}), ...(c.resources?.requests ?? {}) };
  return { cpuMillis: r.cpu === undefined ? 0 : cpuMillis(r.cpu), memoryBytes: r.memory === undefined ? 0 : memoryBytes(r.memory) };
}

/**
 * A pod's effective requests, as the scheduler computes them: the larger of the sum over its
 * containers and the largest init container (restartable init containers, i.e. sidecars, add to the
 * sum), plus the pod's overhead.
 */
export function podRequests(spec: any): Requests {
  const sum = (cs: any[]) => cs.map(containerRequests).reduce((a, b) => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes }), { cpuMillis: 0, memoryBytes: 0 });
  const inits: any[] = spec.initContainers ?? [];
  const sidecars = sum(inits.filter((c) => c.restartPolicy === 'Always'));
  const main = sum(spec.containers);
  const initMax = inits.filter((c) => c.restartPolicy !== 'Always').map(containerRequests)
    .reduce((a, b) => ({ cpuMillis: Math.max(a.cpuMillis, b.cpuMillis), memoryBytes: Math.max(a.memoryBytes, b.memoryBytes) }), { cpuMillis: 0, memoryBytes: 0 });
  const overhead = spec.overhead ? containerRequests({ resources: { requests: spec.overhead } }) : { cpuMillis: 0, memoryBytes: 0 };
  return {
    cpuMillis: Math.max(main.cpuMillis + sidecars.cpuMillis, initMax.cpuMillis) + overhead.cpuMillis,
    memoryBytes: Math.max(main.memoryBytes + sidecars.memoryBytes, initMax.memoryBytes) + overhead.memoryBytes,
  };
}

/** A workload's pod template and how many of its pods run at once. */
export interface Workload { kind: string; name: string; pods: number; spec: any }

/**
 * Every workload and the pods it runs at once: a StatefulSet or Deployment its `replicas`, a CronJob
 * one Job's `parallelism` (only with concurrencyPolicy Forbid; otherwise runs could overlap, which
 * this refuses to guess).
 */
export function workloads(objects: KubeObject[]): Workload[] {
  return objects.flatMap((o): Workload[] => {
    switch (o.kind) {
      case 'StatefulSet':
      case 'Deployment':
        return [{ kind: o.kind, name: o.metadata.name, pods: o.spec.replicas ?? 1, spec: o.spec.template.spec }];
      case 'CronJob': {
        if (o.spec.concurrencyPolicy !== 'Forbid') throw new Error(`CronJob ${o.metadata.name}: runs may overlap (concurrencyPolicy ${o.spec.concurrencyPolicy})`);
        const job = o.spec.jobTemplate.spec;
        return [{ kind: o.kind, name: o.metadata.name, pods: job.parallelism ?? 1, spec: job.template.spec }];
      }
      case 'Job':
      case 'DaemonSet':
      case 'ReplicaSet':
      case 'Pod':
        throw new Error(`${o.kind} ${o.metadata.name}: not handled`);
      default:
        return [];
    }
  });
}

/** The requests of every pod the objects run at once, summed. */
export function totalRequests(objects: KubeObject[]): Requests {
  return workloads(objects).map((w) => {
    const r = podRequests(w.spec);
    return { cpuMillis: r.cpuMillis * w.pods, memoryBytes: r.memoryBytes * w.pods };
  }).reduce((a, b) => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes }), { cpuMillis: 0, memoryBytes: 0 });
}

/**
 * The scheduling constraints of the objects that one node cannot satisfy for all their pods: required
 * pod anti-affinity (on any topology key: on one node every key has one value), required node affinity
 * and nodeSelector (a laptop node has none of the labels they would name), topology spread that
 * refuses to schedule (DoNotSchedule), and pod affinity to pods that may not be there.
 */
export function oneNodeProblems(objects: KubeObject[]): string[] {
  const out: string[] = [];
  for (const w of workloads(objects)) {
    const at = `${w.kind}/${w.name}`;
    const a = w.spec.affinity ?? {};
    for (const t of a.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
      out.push(`${at}: required pod anti-affinity on ${t.topologyKey}`);
    }
    for (const t of a.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
      out.push(`${at}: required pod affinity on ${t.topologyKey}`);
    }
    if (a.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution) out.push(`${at}: required node affinity`);
    if (w.spec.nodeSelector && Object.keys(w.spec.nodeSelector).length) out.push(`${at}: nodeSelector ${JSON.stringify(w.spec.nodeSelector)}`);
    for (const c of w.spec.topologySpreadConstraints ?? []) {
      if (c.whenUnsatisfiable !== 'ScheduleAnyway') out.push(`${at}: topology spread on ${c.topologyKey} is ${c.whenUnsatisfiable}`);
    }
  }
  return out;
}
