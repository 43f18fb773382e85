import { type BackplaneMessageOf, subscribeBackplane } from '@stampede/core/backplane';
import { createTestEvent, purchaseMessage, testLogger, testSql, waitFor } from '@stampede/lab/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { useWorkerTestbeds } from './worker-fixture.js';

const sql = testSql();
const testbed = useWorkerTestbeds();
afterAll(() => sql.end({ timeout: 1 }));

describe('what the worker says on the backplane', () => {
  it('when purchases are decided, then each final state is announced after the commit, and the worker reports what it holds every second', async () => {
    const { config, broker, onCleanup, start } = await testbed();
    const sub = subscribeBackplane(config, testLogger(config));
    onCleanup(() => sub.close());
    await sub.ready();
    const decided: BackplaneMessageOf<'purchases_decided'>['purchases'] = [];
    const statuses: BackplaneMessageOf<'worker_status'>[] = [];
    sub.on('purchases_decided', (m) => decided.push(...m.purchases));
    sub.on('worker_status', (m) => statuses.push(m));

    const event = await createTestEvent(sql, [2]);
    const messages = [purchaseMessage(event), purchaseMessage(event), purchaseMessage(event)];
    await broker.publish(messages);
    await start();

    await waitFor(() => decided.length >= 3 || undefined, { timeoutMs: 20_000, what: 'three announced decisions' });
    const rows = await sql<{ id: string; status: string; reason: string | null }[]>`
      select id, status, reason from purchases where event_id = ${event.id}`;
    expect(rows).toHaveLength(3);
    // Announced as committed: the same status and reason as the rows.
    expect(
      decided.map((d) => [d.purchaseId, d.status, d.reason]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    ).toEqual(rows.map((r) => [r.id, r.status, r.reason]).sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
    expect(decided.filter((d) => d.status === 'rejected').map((d) => d.reason)).toEqual(['sold_out']);

    await waitFor(() => statuses.length >= 2 || undefined, { timeoutMs: 5_000, what: 'two worker_status messages' });
    expect(statuses.at(-1)).toMatchObject({ kind: 'worker_status', from: config.INSTANCE_NAME, unacked: 0 });
  }, 60_000);
});
