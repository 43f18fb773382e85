import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** nginx/nginx.conf.template, found from both src/lab (tests) and dist/lab (built). */
export const NGINX_TEMPLATE_PATH = fileURLToPath(new URL('../../../nginx/nginx.conf.template', import.meta.url));

/**
 * Passive failover of every replica: two failures (refused, reset, timed out, 502) within
 * 5 s take it out for 5 s, then one request probes it again. Two, not one, so a single
 * unlucky reset does not eject a healthy replica; a dead one costs two retried requests.
 */
export const UPSTREAM_SERVER_PARAMS = 'max_fails=2 fail_timeout=5s';

export const DEFAULT_RATE_LIMIT_PER_SECOND = 20;
export const DEFAULT_RATE_LIMIT_BURST = 40;

/** What differs between the Docker and the local nginx; everything else is in the template. */
export interface NginxTemplateVars {
  listenPort: number;
  /** API replicas as 'host:port'. */
  upstreams: string[];
  /** Absolute path of the JSON access log ('/dev/stdout' in Docker). */
  accessLog: string;
  /** Absolute path of the error log, or 'stderr'. */
  errorLog: string;
  /** Absolute path of the pid file. */
  pidFile: string;
  /** An existing directory; nginx creates its temp folders inside it. */
  tempDir: string;
  /** POSTs per second per client address on /events/<id>/purchases (default 20). */
  rateLimitPerSecond?: number;
  /** Requests over the rate answered at once before 429s start (default 40). */
  rateLimitBurst?: number;
  /** nginx worker processes, 1 by default (the template says why); 'auto' for the benchmark. */
  workerProcesses?: number | 'auto';
  /** The 1 s edge micro-cache of availability reads (off by default). */
  edgeCache?: boolean;
  /**
   * A DNS server (Docker's, 127.0.0.11): the replicas' names are then resolved again while
   * nginx runs (`resolve`, nginx 1.27.3 and later), so a replica recreated with a new
   * address is followed. Without it (the local lab, addresses on loopback) they are resolved once.
   */
  resolver?: string;
}

/** The template's variables; Docker sets exactly these names in docker-compose.yml. */
export type NginxEnv = Record<
  | 'NGINX_LISTEN_PORT'
  | 'NGINX_UPSTREAM_SERVERS'
  | 'NGINX_RESOLVER'
  | 'NGINX_ACCESS_LOG'
  | 'NGINX_ERROR_LOG'
  | 'NGINX_PID_FILE'
  | 'NGINX_TEMP_DIR'
  | 'NGINX_RATE_LIMIT_RPS'
  | 'NGINX_RATE_LIMIT_BURST'
  | 'NGINX_WORKER_PROCESSES'
  | 'NGINX_EDGE_CACHE',
  string
>;

const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$/;
const ADDRESS = /^[0-9.]+(:\d{1,5})?$/;
/** Characters that would break out of a quoted nginx parameter or start a variable. */
const UNSAFE_PATH = /["\\$;\n\r{}]/;

function positiveInt(name: string, value: number): string {
  if (!Number.isInteger(value) || value < 1) throw new Error(`nginx ${name} must be a positive integer, got ${value}`);
  return String(value);
}

function path(name: string, value: string, allowStderr = false): string {
  if (allowStderr && value === 'stderr') return value;
  if (!isAbsolute(value) || UNSAFE_PATH.test(value))
    throw new Error(
      `nginx ${name} must be an absolute path without quotes, '$', ';' or braces, got ${JSON.stringify(value)}`,
    );
  return value;
}

/**
 * The template's environment variables for these settings: the local lab renders with it,
 * and docker-compose.yml sets the same names and values (a test compares them).
 */
export function nginxEnv(vars: NginxTemplateVars): NginxEnv {
  if (vars.upstreams.length === 0) throw new Error('nginx needs at least one upstream');
  if (vars.resolver !== undefined && !ADDRESS.test(vars.resolver))
    throw new Error(`nginx resolver must be an IPv4 address[:port], got ${JSON.stringify(vars.resolver)}`);
  const resolve = vars.resolver === undefined ? '' : ' resolve';
  const servers = vars.upstreams.map((u) => {
    if (!HOST_PORT.test(u)) throw new Error(`nginx upstream must be 'host:port', got ${JSON.stringify(u)}`);
    return `server ${u} ${UPSTREAM_SERVER_PARAMS}${resolve};`;
  });
  const port = positiveInt('listenPort', vars.listenPort);
  if (vars.listenPort > 65535) throw new Error(`nginx listenPort out of range: ${vars.listenPort}`);
  const workers = vars.workerProcesses ?? 1;
  return {
    NGINX_LISTEN_PORT: port,
    NGINX_UPSTREAM_SERVERS: servers.join(' '),
    // Answers kept 5 s: a recreated replica is followed within that; no IPv6 on the network.
    NGINX_RESOLVER: vars.resolver === undefined ? '' : `resolver ${vars.resolver} valid=5s ipv6=off;`,
    NGINX_ACCESS_LOG: path('accessLog', vars.accessLog),
    NGINX_ERROR_LOG: path('errorLog', vars.errorLog, true),
    NGINX_PID_FILE: path('pidFile', vars.pidFile),
    NGINX_TEMP_DIR: path('tempDir', vars.tempDir),
    NGINX_RATE_LIMIT_RPS: positiveInt('rateLimitPerSecond', vars.rateLimitPerSecond ?? DEFAULT_RATE_LIMIT_PER_SECOND),
    NGINX_RATE_LIMIT_BURST: positiveInt('rateLimitBurst', vars.rateLimitBurst ?? DEFAULT_RATE_LIMIT_BURST),
    NGINX_WORKER_PROCESSES: workers === 'auto' ? 'auto' : positiveInt('workerProcesses', workers),
    // The zone's name turns proxy_cache on; `off` keeps it off.
    NGINX_EDGE_CACHE: vars.edgeCache ? 'edge_availability' : 'off',
  };
}

/**
 * Fills `${NAME}` placeholders of a template from `env`, like envsubst with a variable
 * list: only the given names are replaced, nginx's own `$variables` are left alone.
 * Throws when an upper-case placeholder is left unfilled, so a typo fails here, not in nginx.
 */
export function substitutePlaceholders(template: string, env: Record<string, string>): string {
  const out = template.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (whole, name: string) => env[name] ?? whole);
  const left = [...new Set(out.match(/\$\{[A-Z][A-Z0-9_]*\}/g) ?? [])];
  if (left.length > 0) throw new Error(`nginx template placeholders left unfilled: ${left.join(', ')}`);
  return out;
}

/** Renders the nginx config of the local lab from the one template Docker uses too. */
export function renderNginxConfig(vars: NginxTemplateVars, templatePath = NGINX_TEMPLATE_PATH): string {
  return substitutePlaceholders(readFileSync(templatePath, 'utf8'), nginxEnv(vars));
}

/**
 * The nginx binary: `NGINX_BIN` when set, else `nginx` on PATH, else /usr/sbin/nginx
 * (Debian installs it there, outside a normal user's PATH).
 */
export function findNginxBinary(env: NodeJS.ProcessEnv = process.env, fallbacks = ['/usr/sbin/nginx']): string {
  const candidates = [
    ...(env.NGINX_BIN ? [env.NGINX_BIN] : []),
    ...(env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, 'nginx')),
    ...fallbacks,
  ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; try the next place
    }
  }
  throw new Error(
    'nginx is not installed (looked on PATH and at /usr/sbin/nginx). The local lab runs the system package: ' +
      'install it with `sudo apt-get install nginx` (Debian/Ubuntu) or `brew install nginx` (macOS), or set NGINX_BIN.',
  );
}

/**
 * Arguments to run nginx in the foreground on a rendered config, as a child process:
 * `-e` sends start-up errors to our log instead of the packaged /var/log/nginx (not writable
 * unprivileged), `daemon off` keeps the pid the spawner holds the master's. Add `-t` to test.
 */
export function nginxArgs(opts: { prefixDir: string; configFile: string; errorLog: string }): string[] {
  return ['-p', opts.prefixDir, '-c', opts.configFile, '-e', opts.errorLog, '-g', 'daemon off;'];
}
