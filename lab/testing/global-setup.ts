import { randomUUID } from 'node:crypto';
import { loadConfig } from '@stampede/core/config';
import { deleteKeysByPrefix } from '@stampede/core/redis';
import { testRunKeyPrefix } from './fixtures.js';
import { createTestDatabase } from './test-database.js';

/**
 * Once per test run: a database of the run's own, migrated, named in DATABASE_URL for
 * every test process and every process a test starts; and a Redis key prefix of the run's
 * own. At the end of the run the database is dropped and every key under the prefix
 * deleted: tests remove what they made, and this catches what a failed one could not
 * (stock counts and tier sets carry no TTL).
 */
export default async function setup(): Promise<() => Promise<void>> {
  const db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  process.env.STAMPEDE_TEST_RUN = randomUUID().slice(0, 8);
  const keyPrefix = testRunKeyPrefix();
  return async () => {
    await db.drop();
    await deleteKeysByPrefix(loadConfig().REDIS_URL, keyPrefix);
  };
}
