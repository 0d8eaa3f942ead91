/**
 * Checks shared by every construct's own validation: Kubernetes name and label syntax, pinned
 * images, sizes and resources. Each construct collects its problems in a {@link Problems} list and
 * throws one {@link RedisSentinelConfigError} naming itself, so every problem is reported at once.
 */
import { Size, SizeRoundingBehavior } from 'cdk8s';
import { ContainerResources } from 'cdk8s-plus-27';
import { DNS_LABEL_MAX, DNS_SUBDOMAIN_MAX } from './names';

/**
 * Thrown for invalid props; lists every problem found, each with the prop, the value and the fix.
 * @jsii ignore jsii cannot extend Error; other languages get the jsii runtime's exception with this message
 */
export class RedisSentinelConfigError extends Error {
  /** One line per problem. */
  public readonly problems: string[];
  /** The construct path of what refused the props (e.g. `my-chart/Resource`). */
  public readonly constructPath: string;

  constructor(constructPath: string, problems: string[]) {
    super(`Invalid Redis Sentinel configuration at ${constructPath}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RedisSentinelConfigError';
    this.problems = problems;
    this.constructPath = constructPath;
  }
}

/** Collects problems; `check` returns whether the value was good, so dependent checks can skip. */
export class Problems {
  public readonly list: string[] = [];

  /** Records `message` unless `ok`; returns `ok`. */
  public check(ok: boolean, message: string): boolean {
    if (!ok) this.list.push(message);
    return ok;
  }

  public add(message: string): void {
    this.list.push(message);
  }

  /** Throws one error listing every problem, when there is any. */
  public throwIfAny(constructPath: string): void {
    if (this.list.length > 0) throw new RedisSentinelConfigError(constructPath, this.list);
  }
}

export const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const isInt = (n: number) => Number.isInteger(n);

/** A DNS-1123 label of at most 63 characters (namespace names, Service names). */
export function isDnsLabel(value: string): boolean {
  return value.length <= DNS_LABEL_MAX && DNS_1123_LABEL.test(value);
}

/** A DNS-1123 subdomain: at most 253 characters, dot-separated labels of at most 63. */
export function isDnsSubdomain(value: string): boolean {
  return value.length <= DNS_SUBDOMAIN_MAX && DNS_1123_SUBDOMAIN.test(value) && value.split('.').every((l) => l.length <= DNS_LABEL_MAX);
}

/** An optional object name (StorageClass, PriorityClass, claim, Secret): unset, or a DNS-1123 subdomain. */
export function checkObjectName(p: Problems, prop: string, value: string | undefined, kind: string): void {
  p.check(value === undefined || isDnsSubdomain(value),
    `${prop} ('${value}') must be a ${kind} name (DNS-1123 subdomain: lowercase letters, digits, '-', '.')`);
}

/** Checks a label map: Kubernetes label key (optional DNS prefix) and value syntax. */
export function checkLabels(p: Problems, prop: string, labels: Record<string, string> | undefined): void {
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (!isLabelKey(key)) {
      p.add(`${prop} key '${key}' is not a valid Kubernetes label key: use [prefix/]name, name of at most 63 alphanumerics, '-', '_' or '.'`);
    }
    if (value.length > DNS_LABEL_MAX || !LABEL_VALUE.test(value)) {
      p.add(`${prop}['${key}'] value '${value}' is not a valid label value: at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric`);
    }
  }
}

/** Checks an annotation map: keys have label-key syntax, values are free; `reserved` keys are the library's. */
export function checkAnnotations(p: Problems, prop: string, annotations: Record<string, string> | undefined, reserved: readonly string[] = []): void {
  for (const key of Object.keys(annotations ?? {})) {
    if (reserved.includes(key)) {
      p.add(`${prop} key '${key}' is set by the library: remove it`);
    } else if (!isLabelKey(key)) {
      p.add(`${prop} key '${key}' is not a valid annotation key: use [prefix/]name, name of at most 63 alphanumerics, '-', '_' or '.'`);
    }
  }
}

/** A Kubernetes label (or annotation) key: an optional DNS-subdomain prefix and a name of at most 63 characters. */
export function isLabelKey(key: string): boolean {
  const parts = key.split('/');
  const labelName = parts[parts.length - 1];
  const prefix = parts.length === 2 ? parts[0] : undefined;
  return parts.length <= 2 && labelName.length <= DNS_LABEL_MAX && LABEL_NAME.test(labelName) && (prefix === undefined || isDnsSubdomain(prefix));
}

/** An image must be pinned to a tag (not latest) or a digest. */
export function checkImage(p: Problems, prop: string, image: string, example: string): void {
  const lastSegment = image.split('/').pop() ?? '';
  const pinned = image.includes('@sha256:') || (lastSegment.includes(':') && !lastSegment.endsWith(':latest'));
  p.check(pinned && !/\s/.test(image), `${prop} ('${image}') must be pinned to a tag or digest other than latest: e.g. '${example}'`);
}

/** A port number. */
export function checkPort(p: Problems, prop: string, port: number): boolean {
  return p.check(isInt(port) && port >= 1 && port <= 65535, `${prop} (${port}) must be a port number between 1 and 65535`);
}

export function bytesOf(size: Size): number {
  return size.toKibibytes({ rounding: SizeRoundingBehavior.NONE }) * 1024;
}

/** A size that must be positive (volumes). */
export function checkPositiveSize(p: Problems, prop: string, size: Size, example: string): void {
  const bytes = bytesOf(size);
  p.check(Number.isFinite(bytes) && bytes > 0 && isInt(bytes), `${prop} (${size.asString()}) must be a positive size: e.g. ${example}`);
}

/** A duration that must be a whole number of seconds of at least `min`. */
export function checkSeconds(p: Problems, prop: string, ms: number, min: number, example: string): boolean {
  return p.check(isInt(ms) && ms >= min * 1000 && ms % 1000 === 0,
    `${prop} (${ms} ms) must be a whole number of seconds >= ${min}: e.g. ${example}`);
}

/** Parses a Kubernetes CPU quantity ("500m", "2", "0.5") into millicores. */
function millicores(amount: string): number {
  return amount.endsWith('m') ? Number(amount.slice(0, -1)) : Number(amount) * 1000;
}

/** Requests must not exceed limits (the API server rejects that). */
export function checkResources(p: Problems, prop: string, res: ContainerResources): void {
  const memReq = res.memory?.request; const memLim = res.memory?.limit;
  if (memReq && memLim) {
    p.check(bytesOf(memReq) <= bytesOf(memLim),
      `${prop}.memory.request (${memReq.asString()}) exceeds its limit (${memLim.asString()}): the API server rejects that`);
  }
  const cpuReq = res.cpu?.request; const cpuLim = res.cpu?.limit;
  if (cpuReq && cpuLim) {
    p.check(millicores(cpuReq.amount) <= millicores(cpuLim.amount),
      `${prop}.cpu.request (${cpuReq.amount}) exceeds its limit (${cpuLim.amount}): the API server rejects that`);
  }
}
