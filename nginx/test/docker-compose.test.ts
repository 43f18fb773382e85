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
};

interface ComposeService {
  environment?: Record<string, string>;
  container_name?: string;
  healthcheck?: { test: string[] };
  restart?: string;
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
}

/** The resolved compose file as JSON (Debian's docker-compose is Python: PyYAML is there). */
async function composeConfig(): Promise<{ services: Record<string, ComposeService> }> {
  // the rate-limit defaults, whatever this shell exports
  const { stdout } = await run('docker-compose', ['config'], {
    cwd: root,
    env: {
      ...process.env,
      NGINX_RATE_LIMIT_RPS: '',
      NGINX_RATE_LIMIT_BURST: '',
      NGINX_WORKER_PROCESSES: '',
      NGINX_EDGE_CACHE: '',
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
  it('when validated by docker-compose, then `docker-compose config -q` passes', async () => {
    await expect(run('docker-compose', ['config', '-q'], { cwd: root })).resolves.toBeDefined();
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
    expect(services.migrate!.restart).toBe('no');
    for (const api of ['api-1', 'api-2', 'api-3']) {
      expect(services[api]!.environment!.INSTANCE_NAME).toBe(api);
      expect(services[api]!.depends_on!.migrate!.condition).toBe('service_completed_successfully');
      expect(services.nginx!.depends_on![api]!.condition).toBe('service_healthy');
    }
    expect(services.k6!.profiles).toEqual(['k6']);
    expect(services.k6!.environment!.BASE_URL).toBe('http://nginx:8080');
  });
});
