import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** One Kubernetes object as read from YAML. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

interface Kustomization {
  resources?: string[];
  patches?: { path: string }[];
}

export function readYamlDocuments(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS();
  });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Kustomize's strategic merge, the part these manifests use: maps merge key by key, lists of
 * named items (containers, env, ports) merge item by name, any other value is replaced.
 */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (isObject(base) && isObject(patch)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(patch)) out[k] = k in base ? strategicMerge(base[k], v) : v;
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch) && patch.every((p) => isObject(p) && typeof p.name === 'string')) {
    const out = [...base];
    for (const p of patch as Record<string, unknown>[]) {
      const i = out.findIndex((b) => isObject(b) && b.name === p.name);
      if (i >= 0) out[i] = strategicMerge(out[i], p);
      else out.push(p);
    }
    return out;
  }
  return patch;
}

export const objectId = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

/**
 * Renders a kustomization directory the way `kustomize build` does for what this repository
 * uses (resources: files or directories; patches: strategic-merge files). A patch whose
 * target does not exist is an error, as in kustomize.
 */
export function renderKustomization(dir: string): K8sObject[] {
  const [k] = readYamlDocuments(join(dir, 'kustomization.yaml')) as Kustomization[];
  const objects: K8sObject[] = [];
  for (const r of k?.resources ?? []) {
    const path = resolve(dir, r);
    if (statSync(path).isDirectory()) objects.push(...renderKustomization(path));
    else objects.push(...(readYamlDocuments(path) as K8sObject[]));
  }
  for (const { path } of k?.patches ?? []) {
    for (const patch of readYamlDocuments(resolve(dir, path)) as K8sObject[]) {
      const i = objects.findIndex((o) => objectId(o) === objectId(patch) && o.apiVersion === patch.apiVersion);
      if (i < 0)
        throw new Error(`${join(dir, path)}: patch targets ${objectId(patch)}, which the resources do not have`);
      objects[i] = strategicMerge(objects[i], patch) as K8sObject;
    }
  }
  return objects;
}

/** Every YAML file under a directory. */
export function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .map((f) => join(dir, f));
}
