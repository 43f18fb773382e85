import { loadConfig } from '@stampede/core/config';
import { createSql } from '@stampede/core/db';
import { createLogger } from '@stampede/core/logger';
import { seedDemo } from '../seed.js';
import { parseCommandLine, runCli } from './run-cli.js';

const USAGE = `usage: npm run seed -- [--reset [--hot-buckets K]]
  loads the demo concert (10,000 tickets in four tiers) into DATABASE_URL; safe to run twice
  --reset           empties it first: its purchases deleted, every tier full again (a fresh sale)
  --hot-buckets K   with --reset: the Floor tier's stock split into K buckets (default 1, at most 64)`;

/** `npm run seed [-- --reset]`: loads the demo concert; --reset empties it for a fresh sale. */
runCli('seed', async () => {
  const { values } = parseCommandLine(
    {
      options: {
        reset: { type: 'boolean' },
        'hot-buckets': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    USAGE,
  );
  if (values.help) return void process.stdout.write(`${USAGE}\n`);
  const config = loadConfig();
  const log = createLogger(config, 'seed');
  const sql = createSql(config, { max: 1, applicationName: 'stampede-seed' });
  try {
    const hotBuckets = Number(values['hot-buckets'] ?? 1);
    if (!Number.isInteger(hotBuckets) || hotBuckets < 1 || hotBuckets > 64)
      throw new Error(`--hot-buckets must be an integer from 1 to 64, got ${values['hot-buckets']}`);
    const seeded = await seedDemo(sql, { reset: values.reset ?? false, hotBuckets });
    log.info(
      { event: 'seed.done', ...seeded },
      `demo event ${seeded.eventId} ready (${seeded.left} of ${seeded.tickets} tickets left)`,
    );
  } finally {
    await sql.close();
  }
});
