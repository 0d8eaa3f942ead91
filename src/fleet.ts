/**
 * Synthesizing many releases (say one per tenant) in one process, at a cost linear in their number.
 *
 * One App holding N charts costs more than N times one chart: cdk8s synthesizes each chart through
 * `Chart.toJson()`, which resolves dependencies and runs validation over the whole App again, so
 * `app.synth()` walks N x N charts; and every chart stays alive until the end. Here each release gets
 * an App of its own, is validated, synthesized and written, and is garbage before the next one is built.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, IResolver, Names } from 'cdk8s';
import { RedisSentinelChart, RedisSentinelChartProps } from './redis-sentinel-chart';

/** One release: a chart id and its props. */
export interface Release {
  /**
   * Chart id, as in `new RedisSentinelChart(app, id, props)`: the default `name`, the construct
   * paths in validation errors, and the output file `<id>.k8s.yaml`.
   */
  readonly id: string;
  /** @default {} - every prop at its default */
  readonly props?: RedisSentinelChartProps;
}

/** What {@link synthReleases} produced for one release. */
export interface SynthesizedRelease {
  readonly id: string;
  /** The manifests, exactly as `app.synth()` writes them for this chart; undefined with `keepYaml: false`. */
  readonly yaml?: string;
  /** The file written, when `outdir` is set. */
  readonly file?: string;
}

/**
 * Customizes each release's chart after it is built and before it is validated and synthesized
 * (e.g. `ApiObject.of(...).addJsonPatch`, extra constructs in the chart). An interface, not a
 * callback, so that every jsii language can implement it.
 */
export interface IReleaseConfigurer {
  /** Called once per release, in input order. */
  configure(chart: RedisSentinelChart, release: Release): void;
}

/**
 * Receives each release as soon as it is synthesized (and written), in input order. With
 * `keepYaml: false`, this is where the YAML can be streamed elsewhere.
 */
export interface IReleaseListener {
  /**
   * @param id the release's id
   * @param yaml the manifests, as `app.synth()` writes them for this chart
   * @param file the file written, when `outdir` is set
   */
  onRelease(id: string, yaml: string, file?: string): void;
}

/** Options of {@link synthReleases}. */
export interface SynthReleasesOptions {
  /**
   * Directory to write one `<id><outputFileExtension>` file per release into (created when missing).
   * @default - nothing is written; the YAML goes to the `listener` and the result
   */
  readonly outdir?: string;
  /**
   * Called with each release as soon as it is synthesized (and written), in input order.
   * @default - none
   */
  readonly listener?: IReleaseListener;
  /**
   * Keep every release's YAML in the returned array. Turn it off for large fleets written to
   * `outdir` or streamed through the `listener`: memory then stays that of one release.
   * @default true
   */
  readonly keepYaml?: boolean;
  /**
   * Customizes each chart after it is built and before it is validated and synthesized.
   * @default - none
   */
  readonly configurer?: IReleaseConfigurer;
  /** @default '.k8s.yaml' (as cdk8s) */
  readonly outputFileExtension?: string;
  /** Custom resolvers for every release's App (cdk8s `AppProps.resolvers`). @default - cdk8s's built-in ones */
  readonly resolvers?: IResolver[];
}

/**
 * A release failed to build or validate; `cause` is the original error (e.g. a RedisSentinelConfigError).
 *
 * TypeScript only: jsii cannot extend `Error`, and other languages receive it as the jsii runtime's
 * own exception with this message.
 *
 * @jsii ignore
 */
export class ReleaseSynthError extends Error {
  constructor(readonly releaseId: string, readonly cause: unknown) {
    super(`release "${releaseId}": ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'ReleaseSynthError';
  }
}

/**
 * {@link synthReleases} for every jsii language: Python, Java, Go and .NET see classes, not free
 * functions.
 */
export class Fleet {
  /**
   * Synthesizes each release in an App of its own, one at a time in input order (see `synthReleases`).
   * @param releases the releases; ids must be unique
   */
  public static synthReleases(releases: Release[], options: SynthReleasesOptions = {}): SynthesizedRelease[] {
    return synthReleases(releases, options);
  }

  private constructor() {}
}

/**
 * Synthesizes each release in an App of its own: validation (every construct's `node.validate()`,
 * as `app.synth()` runs it) still runs for every chart, and each release's YAML is byte-equal to
 * what one App holding the same chart writes. Releases are processed one at a time in input order
 * (an iterable, so a generator can produce them lazily); the first failure throws a
 * {@link ReleaseSynthError} naming the release, and the files of the releases before it stay written.
 * Two releases with the same id (or the same file name) fail, as two charts with one id in one App would.
 */
export function synthReleases(releases: Iterable<Release>, options: SynthReleasesOptions = {}): SynthesizedRelease[] {
  const ext = options.outputFileExtension ?? '.k8s.yaml';
  const keepYaml = options.keepYaml ?? true;
  if (options.outdir !== undefined) fs.mkdirSync(options.outdir, { recursive: true });
  const seenIds = new Set<string>();
  const seenFiles = new Set<string>();
  const results: SynthesizedRelease[] = [];

  for (const release of releases) {
    if (seenIds.has(release.id)) {
      throw new ReleaseSynthError(release.id, new Error(`a release with id "${release.id}" was already synthesized; ids must be unique`));
    }
    seenIds.add(release.id);

    let yaml: string;
    let fileName: string;
    try {
      // outdir is never written by this App: synthYaml() returns the text and we write it below.
      const app = new App({ outdir: options.outdir ?? '.', resolvers: options.resolvers });
      const chart = new RedisSentinelChart(app, release.id, release.props ?? {});
      options.configurer?.configure(chart, release);
      // synthYaml resolves dependencies, validates the App (this chart only) and renders it, as synth() does.
      yaml = app.synthYaml();
      // The file name cdk8s gives a chart (FILE_PER_CHART, no dependant charts).
      fileName = Names.toDnsLabel(chart) + ext;
    } catch (e) {
      throw new ReleaseSynthError(release.id, e);
    }
    if (seenFiles.has(fileName)) {
      throw new ReleaseSynthError(release.id, new Error(`file name ${fileName} is already used by another release; choose ids that differ after DNS-label normalization`));
    }
    seenFiles.add(fileName);

    let file: string | undefined;
    if (options.outdir !== undefined) {
      file = path.join(options.outdir, fileName);
      fs.writeFileSync(file, yaml, { encoding: 'utf8' });
    }
    options.listener?.onRelease(release.id, yaml, file);
    results.push(keepYaml ? { id: release.id, yaml, file } : { id: release.id, file });
  }
  return results;
}
