/**
 * Runs a command's body; a failure prints one readable line to stderr and exits 1.
 * A body that ends normally exits with `process.exitCode` (0 unless it set one).
 */
export function runCli(name: string, body: () => Promise<void>): void {
  body().then(
    () => process.exit(process.exitCode ?? 0),
    (err: unknown) => {
      process.stderr.write(`${name} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
