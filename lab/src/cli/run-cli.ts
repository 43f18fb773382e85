import { existsSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A command line the command cannot use: the message, then the usage, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Loads `.env` from the working directory when there is one (`npm run` runs in the
 * repository root), as documented in .env.example. Variables already set in the
 * environment win: `REDIS_KEY_PREFIX=x npm run lab -- up` still means x.
 */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

/** parseArgs, with its errors (unknown option, missing value) turned into a UsageError. */
export function parseCommandLine<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Node's hint about positionals that start with "-" is noise for a mistyped option.
    if (code?.startsWith('ERR_PARSE_ARGS'))
      throw new UsageError((err as Error).message.split('. To specify')[0]!, usage);
    throw err;
  }
}

/** Runs a parse of a user-typed value; its error becomes a UsageError with this usage. */
export function asUsage<T>(parse: () => T, usage: string): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message, usage);
  }
}

/**
 * Runs a command's body after loading `.env`; a failure prints one readable line to
 * stderr and exits 1, a UsageError prints its line and the usage and exits 2. A body that
 * ends normally exits with `process.exitCode` (0 unless it set one).
 */
export function runCli(name: string, body: () => Promise<void>): void {
  Promise.resolve()
    .then(() => {
      loadDotEnv();
      return body();
    })
    .then(
      () => process.exit(process.exitCode ?? 0),
      (err: unknown) => {
        if (err instanceof UsageError) {
          process.stderr.write(`${name}: ${err.message}${err.usage ? `\n\n${err.usage.trimEnd()}` : ''}\n`);
          process.exit(2);
        }
        process.stderr.write(`${name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
}
