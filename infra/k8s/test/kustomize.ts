import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * The part of kustomize that infra/k8s uses, so the manifests can be rendered
 * and checked on any machine (`kubectl kustomize` renders them where kubectl is
 * installed: the test then checks that both agree). Anything else in a
 * kustomization.yaml is refused with its name, never silently skipped:
 *
 *   resources   files (one or more YAML documents) and folders with a kustomization.yaml
 *   namespace   set on every namespaced object
 *   patches     strategic-merge patches by file (`path`), applied to the object of the same kind and name
 *   images      name -> newName / newTag / digest, in every container of every pod template
 */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

interface ImageRule {
  readonly name: string;
  readonly newName?: string;
  readonly newTag?: string;
  readonly digest?: string;
}

const KNOWN_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'patches', 'images']);
/** Kinds that live in no namespace (the ones kustomize's namespace transformer leaves alone, of those used here). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
]);
/** Lists that strategic merge joins by a key (Kubernetes' patchMergeKey); any other list is replaced. */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
};

/** Render the kustomization in `dir`, as `kubectl kustomize dir` would (for the subset above). */
export function kustomize(dir: string): K8sObject[] {
  const kustomization = readYaml(join(dir, 'kustomization.yaml'))[0] as Record<string, unknown>;
  const unknown = Object.keys(kustomization).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length > 0) throw new Error(`${dir}/kustomization.yaml: this renderer does not know ${unknown.join(', ')}`);

  const objects: K8sObject[] = [];
  for (const entry of (kustomization.resources ?? []) as string[]) {
    const path = resolve(dir, entry);
    objects.push(...(statSync(path).isDirectory() ? kustomize(path) : (readYaml(path) as K8sObject[])));
  }
  for (const patch of (kustomization.patches ?? []) as Array<{ path?: string }>) {
    const extra = Object.keys(patch).filter((key) => key !== 'path');
    if (!patch.path || extra.length > 0)
      throw new Error(`${dir}: this renderer applies patches by \`path\` only, got ${JSON.stringify(patch)}`);
    for (const doc of readYaml(resolve(dir, patch.path)) as K8sObject[]) {
      const target = objects.find((o) => o.kind === doc.kind && o.metadata.name === doc.metadata.name);
      if (!target) throw new Error(`${dir}/${patch.path}: no ${doc.kind} ${doc.metadata.name} to patch`);
      mergeInto(target, doc);
    }
  }
  for (const rule of (kustomization.images ?? []) as ImageRule[]) {
    for (const object of objects) for (const container of podContainers(object)) container.image = applyImageRule(container.image, rule);
  }
  if (typeof kustomization.namespace === 'string') {
    for (const object of objects) if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = kustomization.namespace;
  }
  return objects;
}

/** The containers (init containers too) of an object's pod template; none for other objects. */
export function podContainers(object: K8sObject): Array<{ name: string; image: string; [key: string]: unknown }> {
  const spec = (object.spec as { template?: { spec?: Record<string, unknown> } } | undefined)?.template?.spec;
  if (!spec) return [];
  return [...((spec.initContainers ?? []) as []), ...((spec.containers ?? []) as [])];
}

function readYaml(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as unknown;
    })
    .filter((doc) => doc !== null);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Strategic merge of `patch` into `target`: maps merge, keyed lists merge by key (new items first, as kustomize puts them), null deletes. */
function mergeInto(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) throw new Error(`this renderer does not know the directive ${key}`);
    const current = target[key];
    if (value === null) Reflect.deleteProperty(target, key);
    else if (isObject(value) && isObject(current)) mergeInto(current, value);
    else if (Array.isArray(value) && Array.isArray(current) && MERGE_KEYS[key]) target[key] = mergeList(current, value, MERGE_KEYS[key]);
    else target[key] = structuredClone(value);
  }
}

function mergeList(current: unknown[], patch: unknown[], mergeKey: string): unknown[] {
  const added: unknown[] = [];
  const merged = [...current];
  for (const item of patch) {
    if (!isObject(item) || !(mergeKey in item))
      throw new Error(`a patched ${mergeKey}-keyed list item has no ${mergeKey}: ${JSON.stringify(item)}`);
    const existing = merged.find((m) => isObject(m) && m[mergeKey] === item[mergeKey]);
    if (existing) mergeInto(existing as Record<string, unknown>, item);
    else added.push(structuredClone(item));
  }
  return [...added, ...merged];
}

/** `image` after kustomize's images rule: the name must match exactly (the tag or digest is not part of it). */
function applyImageRule(image: string, rule: ImageRule): string {
  const at = image.indexOf('@');
  const colon = image.lastIndexOf(':');
  const nameEnd = at >= 0 ? at : colon > image.lastIndexOf('/') ? colon : image.length;
  const name = image.slice(0, nameEnd);
  if (name !== rule.name) return image;
  const suffix = image.slice(nameEnd);
  const newName = rule.newName ?? name;
  if (rule.digest) return `${newName}@${rule.digest}`;
  if (rule.newTag) return `${newName}:${rule.newTag}`;
  return `${newName}${suffix}`;
}
