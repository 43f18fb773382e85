import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type NginxTemplateVars, nginxEnv } from '@stampede/lab/nginx-config';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
if (!hasCompose)
  console.warn(
    'docker-compose is not installed: skipping the docker-compose.yml checks (apt-get install docker-compose; .ci/run installs it)',
  );

/** The nginx settings of the Docker path; the local lab passes its own to the same nginxEnv(). */
const DOCKER_NGINX: NginxTemplateVars = {
  listenPort: 8080,
  upstreams: ['api-1:3000', 'api-2:3000', 'api-3:3000'],
  accessLog: '/dev/stdout',
  errorLog: 'stderr',
  pidFile: '/var/run/nginx.pid',
  tempDir: '/var/cache/nginx',
  resolver: '127.0.0.11',
};

interface ComposeService {
  image?: string;
  build?: { target?: string };
  command?: string[];
  ports?: (string | { target: number; published: number })[];
  volumes?: string[];
  logging?: { driver?: string; options?: Record<string, string> };
  environment?: Record<string, string>;
  container_name?: string;
  healthcheck?: { test: string[] };
  restart?: string;
  profiles?: string[];
  scale?: number;
  depends_on?: Record<string, { condition: string }>;
}

/** The resolved compose file as JSON (Debian's docker-compose is Python: PyYAML is there). */
async function composeConfig(
  extra: Record<string, string> = {},
): Promise<{ services: Record<string, ComposeService> }> {
  // the rate-limit defaults, whatever this shell exports
  const { stdout } = await run('docker-compose', ['config'], {
    cwd: root,
    env: {
      ...process.env,
      NGINX_RATE_LIMIT_RPS: '',
      NGINX_RATE_LIMIT_BURST: '',
      NGINX_WORKER_PROCESSES: '',
      NGINX_EDGE_CACHE: '',
      HTTP_PORT: '',
      NGINX_NOFILE: '',
      ...extra,
    },
  });
  const toJson = spawnSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], {
    input: stdout,
    encoding: 'utf8',
  });
  if (toJson.status !== 0) throw new Error(`could not read docker-compose config as YAML: ${toJson.stderr}`);
  return JSON.parse(toJson.stdout);
}

describe.skipIf(!hasCompose)('docker-compose.yml', () => {
  it('when validated by docker-compose, then `docker-compose -f docker-compose.yml config -q` passes', async () => {
    await expect(
      run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: root }),
    ).resolves.toBeDefined();
  });

  it('when nginx is configured, then its variables are exactly what nginxEnv() gives the local lab', async () => {
    const { services } = await composeConfig();
    const env = services.nginx!.environment!;
    const ours = Object.fromEntries(
      Object.entries(env).filter(([k]) => k.startsWith('NGINX_') && !k.startsWith('NGINX_ENVSUBST_')),
    );
    expect(ours).toEqual(nginxEnv(DOCKER_NGINX));
    expect(env.NGINX_ENVSUBST_FILTER).toBe('^NGINX_');
  });

  it('when the topology starts, then every long-running service has a health check and the order is enforced', async () => {
    const { services } = await composeConfig();
    for (const name of ['postgres', 'redis', 'rabbitmq', 'api-1', 'api-2', 'api-3', 'worker', 'nginx']) {
      expect(services[name]?.healthcheck?.test, name).toBeDefined();
      expect(services[name]?.restart, name).toBe('unless-stopped');
    }
    expect(services.worker!.container_name).toBe('ticket-worker');
    // the extras scale (no fixed name), start none by default, and are the named worker otherwise
    const extra = services['worker-extra']!;
    expect(extra.container_name).toBeUndefined();
    expect(extra.scale).toBe(0);
    expect(extra.healthcheck).toEqual(services.worker!.healthcheck);
    expect(extra.environment!.DATABASE_URL).toBe(services.worker!.environment!.DATABASE_URL);
    expect(services.migrate!.restart).toBe('no');
    for (const api of ['api-1', 'api-2', 'api-3']) {
      expect(services[api]!.environment!.INSTANCE_NAME).toBe(api);
      expect(services[api]!.depends_on!.migrate!.condition).toBe('service_completed_successfully');
      expect(services.nginx!.depends_on![api]!.condition).toBe('service_healthy');
    }
    expect(services.k6!.profiles).toEqual(['k6']);
    expect(services.k6!.environment!.BASE_URL).toBe('http://nginx:8080');
  });

  it("when nginx runs in Docker, then it re-resolves the replicas with Docker's DNS, on an nginx that has `resolve` (1.27.3+)", async () => {
    const { services } = await composeConfig();
    const nginx = services.nginx!;
    const [major, minor] = (/^nginx:(\d+)\.(\d+)/.exec(nginx.image ?? '') ?? []).slice(1).map(Number);
    expect(major! > 1 || (major === 1 && minor! >= 28), nginx.image).toBe(true);
    const servers = nginx.environment!.NGINX_UPSTREAM_SERVERS!.split(';').filter((l) => l.trim());
    expect(servers).toHaveLength(3);
    for (const line of servers) expect(line).toMatch(/^\s*server api-\d:3000 .* resolve$/);
    expect(nginx.environment!.NGINX_RESOLVER).toBe('resolver 127.0.0.11 valid=5s ipv6=off;');
  });

  it('when the app containers are checked, then busybox wget does it (no Node process every 5 s)', async () => {
    const { services } = await composeConfig();
    for (const [name, port] of [
      ['api-1', 3000],
      ['api-2', 3000],
      ['api-3', 3000],
      ['worker', 9100],
      ['nginx', 8080],
    ] as const) {
      const test = services[name]!.healthcheck!.test;
      expect(test.slice(0, 2), name).toEqual(['CMD', 'wget']);
      expect(test.join(' '), name).toContain(`http://127.0.0.1:${port}/`);
      expect(test, name).not.toContain('node');
    }
  });

  it('when the images are pinned, then RabbitMQ is the 4.x line and k6 the current 1.x', async () => {
    const { services } = await composeConfig();
    expect(services.rabbitmq!.image).toMatch(/^rabbitmq:4(\.\d+)*-management$/);
    const k6 = /^grafana\/k6:1\.(\d+)\.(\d+)$/.exec(services.k6!.image ?? '');
    expect(k6, services.k6!.image).not.toBeNull();
    expect(Number(k6![1])).toBeGreaterThanOrEqual(8);
  });

  it('when the stack runs beside host services, then only nginx (8080) and the RabbitMQ UI are published, never 5672', async () => {
    const { services } = await composeConfig();
    const published = Object.entries(services).flatMap(([name, s]) =>
      (s.ports ?? []).map(
        (p) => `${name}:${typeof p === 'string' ? p.split(':').slice(-2).join(':') : `${p.published}:${p.target}`}`,
      ),
    );
    expect(published.sort()).toEqual(['nginx:8080:8080', 'rabbitmq:15672:15672']);
  });

  it('when HTTP_PORT and NGINX_NOFILE are set, then nginx is published there and gets that many open files', async () => {
    // the compose test beside the lab's (8080 taken) and an engine whose own limit is below 65536
    const { services } = await composeConfig({ HTTP_PORT: '18080', NGINX_NOFILE: '16384' });
    const nginx = services.nginx as ComposeService & { ulimits?: { nofile?: { soft: number; hard: number } } };
    expect((nginx.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.published}:${p.target}`))).toEqual([
      '18080:8080',
    ]);
    expect(nginx.ulimits?.nofile).toEqual({ soft: 16384, hard: 16384 });
    const defaults = (await composeConfig()).services.nginx as typeof nginx;
    expect(defaults.ulimits?.nofile).toEqual({ soft: 65536, hard: 65536 });
  });

  it('when containers log, then every one uses json-file with rotation', async () => {
    const { services } = await composeConfig();
    for (const [name, s] of Object.entries(services)) {
      expect(s.logging?.driver, name).toBe('json-file');
      expect(s.logging?.options?.['max-size'], name).toMatch(/^\d+m$/);
      expect(Number(s.logging?.options?.['max-file']), name).toBeGreaterThan(1);
    }
  });

  it("when reconcile or logs run in the stack, then the tools service has the apps' Postgres, Redis and RabbitMQ and the k6 results", async () => {
    const { services } = await composeConfig();
    const tools = services.tools!;
    expect(tools.profiles).toEqual(['tools']);
    expect(tools.image).toBe(services.migrate!.image);
    expect(tools.build?.target).toBe('tools');
    for (const key of ['DATABASE_URL', 'REDIS_URL', 'REDIS_KEY_PREFIX', 'AMQP_URL', 'AMQP_PREFIX'])
      expect(tools.environment![key], key).toBe(services.worker!.environment![key]);
    expect(tools.environment!.DATABASE_URL).toMatch(/@postgres:5432\//);
    expect(tools.volumes?.some((v) => v.endsWith('/load-tests/results:/app/load-tests/results:ro'))).toBe(true);
    for (const dep of ['postgres', 'redis', 'rabbitmq'])
      expect(tools.depends_on![dep]!.condition).toBe('service_healthy');
  });
});
