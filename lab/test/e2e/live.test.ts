import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startComponent, stopComponent } from '../../src/local-lab/lab.js';
import { openEventStream } from '../../testing/event-stream.js';
import { createTestEvent, testSql } from '../../testing/fixtures.js';
import { buy, type PrivateLab, startPrivateLab } from './lab-fixture.js';

const sql = testSql();
afterAll(() => sql.end({ timeout: 1 }));

describe('what the lab pushes live, through nginx', () => {
  let lab: PrivateLab;
  beforeAll(async () => {
    lab = await startPrivateLab();
  }, 180_000);
  afterAll(async () => {
    await lab?.close();
  }, 60_000);

  it('when a purchase is followed while the worker is stopped, then the stream says queued at once, and confirmed the moment the started worker decides it', async () => {
    const event = await createTestEvent(sql, [5]);
    await stopComponent(lab.dir, 'worker');
    const { status, body } = await buy(lab.base, event.id, event.tiers[0]!.id);
    expect(status).toBe(202);
    const url = `${lab.base}/purchases/${body.purchaseId}/events`;
    const stream = await openEventStream(url);
    try {
      expect(stream.status).toBe(200);
      expect((await stream.next(5_000))?.event).toBe('queued');
      // Nothing else while nobody decides (a comment line now and then is not an event).
      await expect(stream.next(1_500)).rejects.toThrow(/no event/);

      await startComponent(lab.dir, 'worker');
      const decided = await stream.next(30_000);
      expect(decided?.event).toBe('confirmed');
      expect(JSON.parse(decided!.data)).toMatchObject({ purchaseId: body.purchaseId, status: 'confirmed' });
      expect(await stream.next(5_000)).toBeUndefined();
    } finally {
      stream.close();
    }
    const rows = await sql<{ status: string }[]>`select status from purchases where id = ${body.purchaseId!}`;
    expect(rows).toEqual([{ status: 'confirmed' }]);

    // A reconnect starts from the stored state: the final one, and the stream ends.
    const again = await openEventStream(url);
    try {
      expect((await again.next(5_000))?.event).toBe('confirmed');
      expect(await again.next(5_000)).toBeUndefined();
    } finally {
      again.close();
    }
  }, 90_000);
});
