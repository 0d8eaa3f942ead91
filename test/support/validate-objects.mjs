#!/usr/bin/env node
// Validates Kubernetes objects against the upstream OpenAPI schemas compiled into
// `kubernetes-models` (core and built-in API groups), `@kubernetes-models/prometheus-operator`
// (monitoring.coreos.com) and `@kubernetes-models/cert-manager` (cert-manager.io). Run as a child process so that the ESM builds of those packages load
// natively, whatever module system the caller (jest, CommonJS) uses.
//
// Input (stdin): a JSON array of objects.
// Output (stdout): JSON `{ results: [{ index, apiVersion, kind, name, model, errors }] }`, where
// `model` is the module specifier of the model class used (null when none) and `errors` lists
// `{ path, message }`; an object is valid iff its `errors` is empty. An object whose
// apiVersion/kind maps to no model gets an error: it is never skipped.
// Exit status: 0 when every object was checked (valid or not), 2 when the input is unreadable.

/** API groups served by the prometheus-operator models; every other group by kubernetes-models. */
const PROMETHEUS_OPERATOR_GROUPS = new Set(['monitoring.coreos.com']);
const CERT_MANAGER_GROUPS = new Set(['cert-manager.io']);

// apiVersion is `v1` (core) or `<group>/<version>`; kind is a PascalCase identifier. Anything else
// is refused before it is turned into a module specifier.
const GROUP = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VERSION = /^v[0-9]+((alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

/** The module specifier of the model class of an apiVersion/kind, or an error message. */
function modelSpecifier(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') {
    return { error: `apiVersion (${JSON.stringify(apiVersion)}) and kind (${JSON.stringify(kind)}) must be strings` };
  }
  const parts = apiVersion.split('/');
  const [group, version] = parts.length === 1 ? ['', parts[0]] : parts;
  if (parts.length > 2 || (group !== '' && !GROUP.test(group)) || !VERSION.test(version ?? '') || !KIND.test(kind)) {
    return { error: `'${apiVersion}' '${kind}' is not a well-formed apiVersion and kind` };
  }
  if (group === '') return { specifier: `kubernetes-models/${version}/${kind}` };
  if (PROMETHEUS_OPERATOR_GROUPS.has(group)) {
    return { specifier: `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}` };
  }
  if (CERT_MANAGER_GROUPS.has(group)) {
    return { specifier: `@kubernetes-models/cert-manager/${group}/${version}/${kind}` };
  }
  return { specifier: `kubernetes-models/${group}/${version}/${kind}` };
}

/** Imports the model class of an apiVersion/kind; `{ model, specifier }` or `{ error, specifier }`. */
async function loadModel(apiVersion, kind) {
  const { specifier, error } = modelSpecifier(apiVersion, kind);
  if (error) return { error };
  let mod;
  try {
    mod = await import(specifier);
  } catch (e) {
    return { specifier, error: `no schema model for apiVersion '${apiVersion}' kind '${kind}' (cannot import ${specifier}: ${e.code ?? e.message})` };
  }
  const model = mod[kind];
  // A top-level kind's class carries its apiVersion and kind; nested types (e.g. StatefulSetSpec) do not.
  if (typeof model !== 'function' || model.apiVersion !== apiVersion || model.kind !== kind
    || typeof model.prototype.validate !== 'function') {
    return { specifier, error: `no schema model for apiVersion '${apiVersion}' kind '${kind}' (${specifier} exports no such top-level kind)` };
  }
  return { specifier, model };
}

/** Validates one object; returns its result entry. */
async function validateObject(obj, index) {
  const entry = {
    index,
    apiVersion: obj?.apiVersion ?? null,
    kind: obj?.kind ?? null,
    name: obj?.metadata?.name ?? null,
    model: null,
    errors: [],
  };
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    entry.errors.push({ path: '', message: 'not a JSON object' });
    return entry;
  }
  const { specifier, model, error } = await loadModel(obj.apiVersion, obj.kind);
  entry.model = model ? specifier : null;
  if (error) {
    entry.errors.push({ path: '', message: error });
    return entry;
  }
  try {
    // The constructor copies the object (setting apiVersion/kind, which already match).
    new model(structuredClone(obj)).validate();
  } catch (e) {
    const details = Array.isArray(e.errors) ? e.errors : null;
    if (details && details.length > 0) {
      for (const d of details) {
        const extra = d.params && Object.keys(d.params).length ? ` ${JSON.stringify(d.params)}` : '';
        entry.errors.push({ path: d.instancePath ?? '', message: `${d.message}${extra}` });
      }
    } else {
      entry.errors.push({ path: '', message: String(e && e.message ? e.message : e) });
    }
  }
  return entry;
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  let objects;
  try {
    objects = JSON.parse(await readStdin());
  } catch (e) {
    process.stderr.write(`validate-objects: stdin is not JSON: ${e.message}\n`);
    process.exit(2);
  }
  if (!Array.isArray(objects)) {
    process.stderr.write('validate-objects: stdin must be a JSON array of objects\n');
    process.exit(2);
  }
  const results = [];
  for (let i = 0; i < objects.length; i++) results.push(await validateObject(objects[i], i));
  process.stdout.write(JSON.stringify({ results }));
}

await main();
