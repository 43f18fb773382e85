#!/usr/bin/env node
/**
 * Turns k6 console output into the list of accepted purchase ids, one per line, for the
 * reconciliation command. k6's handleSummary only sees aggregated metrics, so each 202 is
 * logged as an `ACCEPTED <purchaseId> <key>` line and gathered here (see README.md).
 *
 *   node load-tests/tools/collect-accepted.js results/spike-console.log results/spike-accepted.txt
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { acceptedIdsFromLog } from '../lib/summary.js';

const [input, output] = process.argv.slice(2);
if (!input) {
  process.stderr.write('usage: collect-accepted.js <k6 console log> [<output file>]\n');
  process.exit(2);
}
let log;
try {
  log = readFileSync(input, 'utf8');
} catch (err) {
  // A wrong path is the usual mistake: say which file, not a stack trace.
  process.stderr.write(
    `collect-accepted: cannot read ${input}: ${err.code === 'ENOENT' ? 'no such file' : err.message}\n`,
  );
  process.exit(1);
}
const ids = acceptedIdsFromLog(log);
const text = ids.length ? `${ids.join('\n')}\n` : '';
if (output) writeFileSync(output, text);
else process.stdout.write(text);
process.stderr.write(`${ids.length} accepted purchase ids${output ? ` written to ${output}` : ''}\n`);
