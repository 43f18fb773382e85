import { relative } from 'node:path';
import type { LabStatus } from './status.js';

const rel = (dir: string) => relative(process.cwd(), dir) || '.';

/** What `up` prints once everything answers: where to point a browser or k6, and what next. */
export function formatUp(dir: string, nginxPort: number, rabbitUi: boolean): string {
  const front = `http://localhost:${nginxPort}`;
  return [
    '',
    'The lab is up. Point a browser or k6 at:',
    `  ${front.padEnd(34)} the API through nginx (e.g. ${front}/events)`,
    `  ${`${front}/docs`.padEnd(34)} OpenAPI UI`,
    ...(rabbitUi ? [`  ${'http://localhost:15672'.padEnd(34)} RabbitMQ management UI (guest/guest)`] : []),
    '',
    `Logs in ${rel(dir)}/logs/. Next:`,
    '  npm run lab -- status          components, queue depth, tickets left',
    '  npm run lab -- logs -f         follow all logs, merged',
    '  npm run lab -- stop worker     let the queue grow; `start worker` drains it',
    '  npm run lab -- down            stop everything',
  ].join('\n');
}

/** The `status` table. */
export function formatStatus(s: LabStatus): string {
  const lines = [`Lab in ${rel(s.dir)}, front door http://localhost:${s.nginxPort}`, ''];
  lines.push(`  ${'component'.padEnd(10)} ${'state'.padEnd(34)} ${'pid'.padEnd(8)} port`);
  for (const c of s.components) {
    lines.push(`  ${c.name.padEnd(10)} ${c.label.padEnd(34)} ${String(c.pid ?? '-').padEnd(8)} ${c.port}`);
  }
  lines.push('', 'Queues');
  for (const q of s.queues) {
    const what = q.error ?? `${q.messages} ready, ${q.consumers} consumer${q.consumers === 1 ? '' : 's'}`;
    lines.push(`  ${q.queue.padEnd(34)} ${what}`);
  }
  lines.push('', `Tickets left (event ${s.tickets.eventId})`);
  if (s.tickets.error) lines.push(`  ${s.tickets.error}`);
  for (const t of s.tickets.tiers ?? []) {
    lines.push(`  ${t.name.padEnd(14)} ${String(t.remaining).padStart(6)} / ${t.capacity}`);
  }
  return lines.join('\n');
}

export const USAGE = `Usage: npm run lab -- <command> [options]

Commands
  up                          migrate and seed, start api-1..3, the worker(s) and nginx; wait until healthy
     [--reset]                  empty the demo event first (a fresh sale)
     [--workers <n>]            n workers, named worker-1..n (default 1, named worker)
     [--port <n>]               nginx port (default 8080)
     [--api-base-port <n>]      api-1's port; api-2 and api-3 take the next two (default 3001)
     [--worker-port <n>]        the worker's health/metrics port (default WORKER_METRICS_PORT or 9100);
                                worker-2.. take the next ones
     [--rate-limit <n/s>]       nginx limit of purchases per client address (default 20; --rate-burst <n>, 40)
     [--edge-cache]             nginx micro-caches availability reads for 1 s (docs/nginx.md; off by default)
     [--env KEY=VALUE]          environment for every component (repeatable); Stampede settings
                                in your own environment and in .env are passed on too
  down                        stop everything (SIGTERM, then SIGKILL) and remove the state
  status [--json] [--event <id>]
                              each component, queue depth, tickets left of the demo event (or <id>);
                              exits 1 when a component died, is not answering or never started
  start|restart <name>        one component: worker (every worker), worker-<n>, api-1, api-2, api-3, nginx
     [--env KEY=VALUE]          added to the lab's settings: this component starts with it, the others
                                at their next start
     [--rate-limit <n/s>] [--rate-burst <n>]   nginx only: its new edge limit
  stop <name>                 SIGTERM, SIGKILL after 15 s
  kill <name>                 SIGKILL, as in a crash
  logs [name] [-f] [-n N]     last N lines of all logs merged (or one component's); -f follows
  chaos [<scenario>] [--private [--workers <n>]]
                              load, fault, recovery, reconcile, verdict; \`chaos\` alone lists the
                              scenarios, \`chaos --help\` their options (docs/chaos.md)

Every command takes --dir <path> (state and logs, default .lab/) and --help; an option a
command does not read is refused (exit 2).
`;
