import { loadConfig } from '@stampede/core/config';
import { createSql, migrate } from '@stampede/core/db';
import { createLogger } from '@stampede/core/logger';
import { seedDemo } from '../seed.js';
import { parseCommandLine, runCli } from './run-cli.js';

const USAGE = `usage: npm run migrate -- [--seed [--reset]]
  applies the pending migrations of core/migrations to DATABASE_URL (default: the local Postgres)
  --seed    then loads the demo concert (as npm run seed)
  --reset   with --seed: empties the demo concert first (a fresh sale)`;

/** `npm run migrate [-- --seed]`: applies pending migrations, optionally seeds the demo concert. */
runCli('migrate', async () => {
  const { values } = parseCommandLine(
    { options: { seed: { type: 'boolean' }, reset: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } },
    USAGE,
  );
  if (values.help) return void process.stdout.write(`${USAGE}\n`);
  const config = loadConfig();
  const log = createLogger(config, 'migrate');
  const sql = createSql(config, { max: 1, applicationName: 'stampede-migrate' });
  try {
    const result = await migrate(sql);
    log.info(
      { event: 'migrate.done', applied: result.applied, alreadyApplied: result.alreadyApplied },
      `${result.applied.length} migration(s) applied`,
    );
    if (values.seed) {
      const seeded = await seedDemo(sql, { reset: values.reset ?? false });
      log.info({ event: 'seed.done', ...seeded }, `demo event ${seeded.eventId} ready (${seeded.left} tickets left)`);
    }
  } finally {
    await sql.close();
  }
});
