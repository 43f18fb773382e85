import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  findNginxBinary,
  NGINX_TEMPLATE_PATH,
  nginxEnv,
  renderNginxConfig,
  substitutePlaceholders,
  UPSTREAM_SERVER_PARAMS,
} from '@stampede/lab/nginx-config';
import { afterEach, describe, expect, it } from 'vitest';
import { renderToTempDir } from './support/nginx-harness.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const hasEnvsubst = spawnSync('envsubst', ['--version'], { stdio: 'ignore' }).status === 0;
const base = {
  listenPort: 18080,
  upstreams: ['127.0.0.1:3001', '127.0.0.1:3002'],
  accessLog: '/tmp/a.log',
  errorLog: 'stderr',
  pidFile: '/tmp/n.pid',
  tempDir: '/tmp',
};

describe('nginx config template', () => {
  it('when rendered for the local lab, then `nginx -t -p <dir> -c <file>` accepts it', async () => {
    const r = await renderToTempDir({
      listenPort: 18080,
      upstreams: ['127.0.0.1:3001', '127.0.0.1:3002', '127.0.0.1:3003'],
    });
    dirs.push(r.dir);
    const { stderr } = await run(findNginxBinary(), ['-t', '-p', r.dir, '-c', r.configFile, '-e', r.errorLog]);
    expect(stderr).toContain('syntax is ok');
    expect(stderr).toContain('test is successful');
  });

  it('when rendered, then every placeholder is filled and nginx variables survive', () => {
    const text = renderNginxConfig({ ...base, rateLimitPerSecond: 7, rateLimitBurst: 9 });
    expect(text).not.toMatch(/\$\{[A-Z]/);
    expect(text).toContain(
      `server 127.0.0.1:3001 ${UPSTREAM_SERVER_PARAMS}; server 127.0.0.1:3002 ${UPSTREAM_SERVER_PARAMS};`,
    );
    expect(text).toContain('rate=7r/s');
    expect(text).toContain('burst=9 nodelay');
    expect(text).toContain('listen 18080 ');
    for (const v of [
      '$request_id',
      '$http_x_request_id',
      '$upstream_addr',
      '$binary_remote_addr',
      '$proxy_add_x_forwarded_for',
    ])
      expect(text).toContain(v);
  });

  it('when a POST fails after it was sent, then nginx is not told to retry it (no non_idempotent)', async () => {
    const template = await readFile(NGINX_TEMPLATE_PATH, 'utf8');
    const directive = template.split('\n').find((l) => l.trim().startsWith('proxy_next_upstream '));
    expect(directive?.trim()).toBe('proxy_next_upstream error timeout http_502;');
  });

  it.skipIf(!hasEnvsubst)(
    'when Docker renders it (envsubst of the NGINX_* variables), then the result is the same as ours',
    () => {
      const env = nginxEnv(base);
      // what the nginx image's 20-envsubst-on-templates.sh does with NGINX_ENVSUBST_FILTER=^NGINX_
      const list = Object.keys(env)
        .map((k) => `\${${k}}`)
        .join(' ');
      const docker = spawnSync('envsubst', [list], {
        input: readFileSync(NGINX_TEMPLATE_PATH, 'utf8'),
        env: { PATH: process.env.PATH, ...env },
        encoding: 'utf8',
      });
      expect(docker.status).toBe(0);
      expect(docker.stdout).toBe(renderNginxConfig(base));
    },
  );

  it('when a placeholder has no value, then rendering throws and names it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stampede-tpl-'));
    dirs.push(dir);
    const path = join(dir, 't.template');
    await writeFile(path, 'listen ${NGINX_LISTEN_PORT}; x ${NGINX_TYPO}; keep $host ${lowercase};');
    expect(() => renderNginxConfig(base, path)).toThrow(/NGINX_TYPO/);
    expect(substitutePlaceholders('a ${A} $b ${c}', { A: '1' })).toBe('a 1 $b ${c}');
  });

  it('when a setting could break the config, then nginxEnv refuses it', () => {
    expect(() => nginxEnv({ ...base, upstreams: [] })).toThrow(/at least one upstream/);
    expect(() => nginxEnv({ ...base, upstreams: ['api-1:3000; evil'] })).toThrow(/host:port/);
    expect(() => nginxEnv({ ...base, accessLog: 'relative.log' })).toThrow(/absolute/);
    expect(() => nginxEnv({ ...base, pidFile: '/tmp/x";' })).toThrow(/absolute/);
    expect(() => nginxEnv({ ...base, rateLimitBurst: 0 })).toThrow(/positive/);
    expect(nginxEnv(base)).toMatchObject({
      NGINX_RATE_LIMIT_RPS: '20',
      NGINX_RATE_LIMIT_BURST: '40',
      NGINX_WORKER_PROCESSES: '1',
      NGINX_ERROR_LOG: 'stderr',
    });
  });

  it('when nginx is not installed, then findNginxBinary says how to install it', () => {
    expect(() => findNginxBinary({ PATH: '/nonexistent' }, ['/nonexistent/nginx'])).toThrow(/apt-get install nginx/);
  });
});
