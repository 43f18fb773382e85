import { loadConfig } from '@stampede/core/config';
import { createSql, migrate } from '@stampede/core/db';
import { createLogger } from '@stampede/core/logger';
import { seedDemo } from '../seed.js';
import { runCli } from './run-cli.js';

/** `npm run migrate [-- --seed]`: applies pending migrations, optionally seeds the demo concert. */
runCli('migrate', async () => {
  const config = loadConfig();
  const log = createLogger(config, 'migrate');
  const sql = createSql(config, { max: 1, applicationName: 'stampede-migrate' });
  try {
    const result = await migrate(sql);
    log.info(
      { event: 'migrate.done', applied: result.applied, alreadyApplied: result.alreadyApplied },
      `${result.applied.length} migration(s) applied`,
    );
    if (process.argv.includes('--seed')) {
      const seeded = await seedDemo(sql, { reset: process.argv.includes('--reset') });
      log.info({ event: 'seed.done', ...seeded }, `demo event ${seeded.eventId} ready`);
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
});
