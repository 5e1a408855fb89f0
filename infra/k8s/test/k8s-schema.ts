import type { K8sObject } from './kustomize.js';

/**
 * Checks a Kubernetes object against the API's OpenAPI schema, offline, with
 * the validators the npm package kubernetes-models ships (generated from the
 * Kubernetes API's own schema): types, required fields, enums, formats. Those
 * validators let unknown fields through, as the API server drops them, so a
 * misspelt field (`terminationGracePeriod`) would pass unnoticed and do nothing.
 * To catch that, the validator is run on a proxy that records every field it
 * reads: a field of the object it never read is not in the schema.
 */
export async function schemaProblems(object: K8sObject): Promise<string[]> {
  const problems: string[] = [];
  const { group, version } = splitApiVersion(object.apiVersion);
  const modelPath = group === '' ? `kubernetes-models/${version}/${object.kind}` : `kubernetes-models/${group}/${version}/${object.kind}`;
  let Model: new (data: unknown) => { validate(): void };
  try {
    Model = ((await import(modelPath)) as Record<string, new (data: unknown) => { validate(): void }>)[object.kind]!;
  } catch {
    return [`${object.apiVersion} ${object.kind} is no kind of the Kubernetes API that kubernetes-models knows`];
  }
  try {
    new Model(object).validate();
  } catch (err) {
    problems.push((err as Error).message);
  }
  const schema = `IoK8sApi${capitalize(group === '' ? 'core' : group.split('.')[0]!)}${capitalize(version)}${object.kind}`;
  const { validate } = (await import(`kubernetes-models/_schemas/${schema}`)) as { validate: (data: unknown) => boolean };
  const read = new Set<string>();
  validate(tracked(object, '', read));
  problems.push(...unknownFields(object, '', read).map((path) => `${path}: no such field in ${object.apiVersion} ${object.kind}`));
  return problems;
}

function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === 'object' && value !== null;
}

/** `value`, wrapped so that every property read of it or of anything inside is added to `read` as a path (/spec/replicas). */
function tracked(value: unknown, path: string, read: Set<string>): unknown {
  if (!isContainer(value)) return value;
  return new Proxy(value, {
    get(target, key, receiver) {
      const child: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return child;
      read.add(`${path}/${key}`);
      return tracked(child, `${path}/${key}`, read);
    },
  });
}

/** The paths of fields in `value` that the validator never read. */
function unknownFields(value: unknown, path: string, read: ReadonlySet<string>): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => unknownFields(item, `${path}/${i}`, read));
  if (!isContainer(value)) return [];
  return Object.entries(value).flatMap(([key, child]) =>
    read.has(`${path}/${key}`) ? unknownFields(child, `${path}/${key}`, read) : [`${path}/${key}`],
  );
}
