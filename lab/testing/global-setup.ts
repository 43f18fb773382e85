import { createTestDatabase } from './test-database.js';

/**
 * Once per test run: a database of the run's own, migrated, named in DATABASE_URL for
 * every test process and every process a test starts; dropped at the end of the run.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  return () => db.drop();
}
