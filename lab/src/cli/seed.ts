import { loadConfig } from '@stampede/core/config';
import { createSql } from '@stampede/core/db';
import { createLogger } from '@stampede/core/logger';
import { seedDemo } from '../seed.js';
import { runCli } from './run-cli.js';

/** `npm run seed [-- --reset]`: loads the demo concert; --reset empties it for a fresh sale. */
runCli('seed', async () => {
  const config = loadConfig();
  const log = createLogger(config, 'seed');
  const sql = createSql(config, { max: 1, applicationName: 'stampede-seed' });
  try {
    const seeded = await seedDemo(sql, { reset: process.argv.includes('--reset') });
    log.info({ event: 'seed.done', ...seeded }, `demo event ${seeded.eventId} ready (${seeded.tickets} tickets)`);
  } finally {
    await sql.end({ timeout: 5 });
  }
});
