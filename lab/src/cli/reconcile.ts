import { brokerUrls, type Config, loadConfig } from '@stampede/core/config';
import { createSql } from '@stampede/core/db';
import { type Redis, connectRedis as redisFor, redisKeys } from '@stampede/core/redis';
import { readAcceptedIds } from '../reconcile/accepted-ids.js';
import { reconcile } from '../reconcile/reconcile.js';
import { formatReport } from '../reconcile/report-text.js';
import { DEMO_EVENT_ID } from '../seed.js';
import { parseCommandLine, runCli, UsageError } from './run-cli.js';

const USAGE = `usage: npm run reconcile -- [--event <id>|all] [--accepted <file>] [--wait <seconds>] [--json]
  --event     the event to check (default: the demo event); "all" checks every event
  --accepted  purchase ids the load run got 202 for, one per line (see docs/reconcile.md)
  --wait      seconds to wait for the queue to drain and the accepted ids to be decided (default 30)
  --json      print the report as JSON instead of the table
exit code: 0 when every must-be-zero figure is 0, 1 otherwise (or when the command cannot run)`;

/**
 * A Redis connection of its own, tried once: when Redis is away the gate reads fail at
 * once and the report says "undersold: not measured (Redis unreachable)" rather than waiting.
 */
async function connectRedis(config: Config): Promise<Redis> {
  const redis = redisFor(config, {
    lazyConnect: true,
    connectTimeout: 2_000,
    commandTimeout: 5_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  await redis.connect().catch(() => {});
  return redis;
}

/** Writes and waits for the write, so a piped report is complete before the process exits. */
function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

/** `npm run reconcile`: checks the invariants after a load run or chaos scenario; see docs/reconcile.md. */
runCli('reconcile', async () => {
  const { values } = parseCommandLine(
    {
      options: {
        event: { type: 'string' },
        accepted: { type: 'string' },
        wait: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    USAGE,
  );
  if (values.help) return write(process.stdout, `${USAGE}\n`);
  const waitSeconds = Number(values.wait ?? 30);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0)
    throw new UsageError('--wait must be a number of seconds', USAGE);
  const event = values.event ?? DEMO_EVENT_ID;
  const acceptedIds = values.accepted ? await readAcceptedIds(values.accepted) : undefined;

  const config = loadConfig();
  const sql = createSql(config, { max: 2, applicationName: 'stampede-reconcile' });
  const redis = await connectRedis(config);
  let pass = false;
  try {
    const report = await reconcile(
      {
        sql,
        redis,
        keys: redisKeys(config.REDIS_KEY_PREFIX),
        broker: { url: brokerUrls(config), prefix: config.AMQP_PREFIX, lanes: config.AMQP_LANES },
      },
      {
        ...(event === 'all' ? {} : { eventId: event }),
        ...(acceptedIds ? { acceptedIds } : {}),
        waitForDrainMs: waitSeconds * 1000,
        // Progress goes to stderr so that --json output stays one clean document.
        onProgress: (p) =>
          process.stderr.write(
            `waiting for the drain: ${(p.waitedMs / 1000).toFixed(1)} s, queued=${p.queued ?? '?'}${p.notFinal === null ? '' : `, accepted not final=${p.notFinal}`}\n`,
          ),
      },
    );
    await write(process.stdout, values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    pass = report.verdict.pass;
  } finally {
    redis.disconnect();
    await sql.close();
  }
  if (!pass) process.exit(1);
});
