import { join } from 'node:path';
import { configSchema } from '@stampede/core/config';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import { healthRoutes } from '../../../api/src/routes/health-routes.js';
import { startHealthServer } from '../../../worker/src/health-server.js';
import { freePort } from '../../testing/index.js';
import {
  type K8sObject,
  objectId,
  readYamlDocuments,
  renderKustomization,
  yamlFilesUnder,
} from './render-kustomize.js';

const K8S = join(import.meta.dirname, '../../../deploy/k8s');
const base = renderKustomization(join(K8S, 'base'));
const bigSale = renderKustomization(join(K8S, 'overlays/big-sale'));
const configNames = new Set(Object.keys(configSchema.shape));

/** The kubernetes-models class (the JSON schema) of each apiVersion and kind these manifests use. */
const MODELS: Record<string, new (v: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
};

type Container = {
  name: string;
  ports?: { name: string; containerPort: number }[];
  env?: { name: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: { httpGet: { path: string; port: string } };
  livenessProbe?: { httpGet: { path: string; port: string } };
};
type PodTemplate = { metadata: { labels: Record<string, string> }; spec: { containers: Container[] } };

const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const find = (objects: K8sObject[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);
const templateOf = (o: K8sObject) => (o.spec as { template: PodTemplate }).template;
const containersOf = (objects: K8sObject[]) =>
  objects.flatMap((o) => ('template' in ((o.spec as object) ?? {}) ? templateOf(o).spec.containers : []));
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe.each([
  ['base', base],
  ['big-sale', bigSale],
])('the %s manifests', (_name, objects) => {
  it('when each object is checked against the Kubernetes JSON schema of its kind, then every one is valid', () => {
    expect(objects.length).toBeGreaterThanOrEqual(9);
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      expect(Model, `${o.apiVersion} ${o.kind}`).toBeDefined();
      expect(() => new Model!(o as never).validate(), objectId(o)).not.toThrow();
    }
  });

  it('when selectors are read, then each Deployment, Service and PodDisruptionBudget selects the pods of one workload', () => {
    const workloads = [...byKind(objects, 'Deployment'), ...byKind(objects, 'Job')];
    for (const d of byKind(objects, 'Deployment')) {
      const sel = (d.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      expect(matches(sel, templateOf(d).metadata.labels), objectId(d)).toBe(true);
    }
    const selected = [
      ...byKind(objects, 'Service').map((s) => [s, (s.spec as { selector: Record<string, string> }).selector] as const),
      ...byKind(objects, 'PodDisruptionBudget').map(
        (p) => [p, (p.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels] as const,
      ),
    ];
    expect(selected.length).toBeGreaterThanOrEqual(2);
    for (const [o, sel] of selected) {
      const hits = workloads.filter((w) => matches(sel, templateOf(w).metadata.labels));
      expect(hits.map(objectId), objectId(o)).toEqual(['Deployment/stampede-api']);
    }
  });

  it('when references are followed, then the HPA, the Ingress, the Service ports and envFrom name what exists', () => {
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'stampede-api')!;
    const hpaSpec = hpa.spec as {
      scaleTargetRef: { kind: string; name: string };
      minReplicas: number;
      maxReplicas: number;
    };
    expect(find(objects, hpaSpec.scaleTargetRef.kind, hpaSpec.scaleTargetRef.name)).toBeDefined();
    expect(hpaSpec.minReplicas).toBeGreaterThanOrEqual(3);
    expect(hpaSpec.maxReplicas).toBeGreaterThan(hpaSpec.minReplicas);

    const api = find(objects, 'Deployment', 'stampede-api')!;
    const apiPorts = templateOf(api).spec.containers.flatMap((c) => c.ports ?? []);
    const service = find(objects, 'Service', 'stampede-api')!;
    const servicePorts = (service.spec as { ports: { name: string; targetPort: string }[] }).ports;
    for (const p of servicePorts) expect(apiPorts.map((a) => a.name)).toContain(p.targetPort);

    const ingress = find(objects, 'Ingress', 'stampede')!;
    const backends = (
      ingress.spec as {
        rules: { http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[];
      }
    ).rules.flatMap((r) => r.http.paths.map((p) => p.backend.service));
    for (const b of backends) {
      expect(find(objects, 'Service', b.name), b.name).toBeDefined();
      expect(servicePorts.map((p) => p.name)).toContain(b.port.name);
    }

    for (const c of containersOf(objects)) {
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef) expect(find(objects, 'ConfigMap', from.configMapRef.name)).toBeDefined();
        if (from.secretRef) expect(find(objects, 'Secret', from.secretRef.name)).toBeDefined();
      }
      for (const probe of [c.readinessProbe, c.livenessProbe].filter((p) => p !== undefined)) {
        expect(
          (c.ports ?? []).map((p) => p.name),
          `${c.name} probe port`,
        ).toContain(probe.httpGet.port);
      }
    }
  });

  it('when env names are read, then every one is a variable of the typed config', () => {
    const names = [
      ...containersOf(objects).flatMap((c) => (c.env ?? []).map((e) => e.name)),
      ...byKind(objects, 'ConfigMap').flatMap((m) => Object.keys(m.data as object)),
      ...byKind(objects, 'Secret').flatMap((s) => Object.keys(s.stringData as object)),
    ];
    expect(names.length).toBeGreaterThan(10);
    expect(names.filter((n) => !configNames.has(n))).toEqual([]);
    const values = Object.assign(
      {},
      ...byKind(objects, 'ConfigMap').map((m) => m.data),
      ...byKind(objects, 'Secret').map((s) => s.stringData),
    );
    expect(configSchema.safeParse(values).error?.issues ?? []).toEqual([]);
  });

  it('when the API and the worker are asked the probe paths, then each answers 200', async () => {
    const probesOf = (name: string) =>
      templateOf(find(objects, 'Deployment', name)!).spec.containers.flatMap((c) => [
        c.readinessProbe!.httpGet.path,
        c.livenessProbe!.httpGet.path,
      ]);
    const up = { postgres: async () => 1 };
    const apiHealth = healthRoutes({ instance: 'k8s-test', checks: up, isShuttingDown: () => false });
    for (const path of probesOf('stampede-api')) expect((await apiHealth.request(path)).status, path).toBe(200);

    const port = await freePort();
    const worker = await startHealthServer({
      port,
      host: '127.0.0.1',
      instance: 'k8s-test',
      checks: up,
      isShuttingDown: () => false,
    });
    try {
      for (const path of probesOf('stampede-worker')) {
        expect((await fetch(`http://127.0.0.1:${port}${path}`)).status, path).toBe(200);
      }
    } finally {
      await worker.close();
    }
  });
});

describe('the big-sale overlay', () => {
  it('when rendered, then it patches only resources of the base and sizes the sale up', () => {
    const overlayDir = join(K8S, 'overlays/big-sale');
    const patches = (readYamlDocuments(join(overlayDir, 'kustomization.yaml'))[0] as { patches: { path: string }[] })
      .patches;
    expect(patches.length).toBeGreaterThanOrEqual(3);
    const baseIds = new Set(base.map(objectId));
    for (const p of patches) {
      for (const doc of readYamlDocuments(join(overlayDir, p.path)) as K8sObject[])
        expect(baseIds).toContain(objectId(doc));
    }
    expect(bigSale.map(objectId).sort()).toEqual(base.map(objectId).sort());
    const min = (objects: K8sObject[]) =>
      (find(objects, 'HorizontalPodAutoscaler', 'stampede-api')!.spec as { minReplicas: number }).minReplicas;
    expect(min(bigSale)).toBeGreaterThan(min(base));
    const workers = (objects: K8sObject[]) =>
      (find(objects, 'Deployment', 'stampede-worker')!.spec as { replicas: number }).replicas;
    expect(workers(bigSale)).toBeGreaterThan(workers(base));
    // A patch merges: the probes and env of the base survive it.
    expect(templateOf(find(bigSale, 'Deployment', 'stampede-api')!).spec.containers[0]!.readinessProbe).toBeDefined();
  });

  it('when every YAML file under deploy/k8s is parsed, then none has an error', () => {
    const files = yamlFilesUnder(K8S);
    expect(files.length).toBeGreaterThanOrEqual(14);
    for (const f of files) expect(readYamlDocuments(f).length, f).toBeGreaterThan(0);
  });
});
