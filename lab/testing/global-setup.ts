import { loadConfig } from '@stampede/core/config';
import { createSql, migrate } from '@stampede/core/db';

/** Once per test run: the schema is current. Every test then makes its own data. */
export default async function setup(): Promise<void> {
  const sql = createSql(loadConfig({}), { max: 1 });
  try {
    await migrate(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
