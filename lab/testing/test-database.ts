import { type Config, loadConfig } from '@stampede/core/config';
import { createSql, migrate } from '@stampede/core/db';

/** Every database a test run makes is named so: `stampede_test_<epoch seconds>_<pid>`. */
const PREFIX = 'stampede_test_';
/** A run's database older than this is a leftover of a run that was killed, not a live one. */
const STALE_AFTER_S = 6 * 3600;

const urlWithDatabase = (url: string, name: string) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

/**
 * The database of one test run: created empty on the server of `DATABASE_URL` (the local
 * Postgres by default), migrated, and dropped when the run ends. Tests create events with
 * random ids and some corrupt rows on purpose; in a database of their own none of that
 * reaches the default database that `GET /events` and `reconcile --event all` read.
 * Leftovers of runs that were killed are dropped when they are old and nobody uses them.
 */
export async function createTestDatabase(base: Config = loadConfig()): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${PREFIX}${Math.floor(Date.now() / 1000)}_${process.pid}`;
  const admin = createSql(base, { max: 1, applicationName: 'stampede-test-setup' });
  try {
    const stale = await admin<{ datname: string }[]>`
      select datname from pg_database d
      where datname like ${`${PREFIX}%`}
        and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)`;
    const now = Date.now() / 1000;
    for (const { datname } of stale) {
      const created = Number(datname.slice(PREFIX.length).split('_')[0]);
      if (Number.isFinite(created) && now - created > STALE_AFTER_S)
        await admin.unsafe(`drop database if exists "${datname}"`).catch(() => undefined);
    }
    // template0: template1 refuses to be copied while anyone else is connected to it.
    await admin.unsafe(`create database "${name}" template template0`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = urlWithDatabase(base.DATABASE_URL, name);
  const sql = createSql(loadConfig({}, { DATABASE_URL: url }), { max: 1, applicationName: 'stampede-test-setup' });
  try {
    await migrate(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
  return {
    url,
    async drop() {
      const end = createSql(base, { max: 1, applicationName: 'stampede-test-teardown' });
      try {
        // FORCE: a process a test left behind must not keep the run's data alive.
        await end.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await end.end({ timeout: 5 });
      }
    },
  };
}
