import { brokerUrls, type Config } from '@stampede/core/config';
import { type BrokerProbe, openBrokerProbe } from '../reconcile/broker-facts.js';
import { within } from '../servers/service-process.js';

/**
 * Samples the depth of the lab's purchase queue for the progress lines. While the broker
 * is away a sample is null and the next one connects again; a sample never throws and
 * never waits for the one before.
 */
export class QueueWatch {
  last: number | null = null;
  private probe: BrokerProbe | undefined;
  private busy = false;

  constructor(private readonly config: Pick<Config, 'AMQP_URL' | 'AMQP_URLS' | 'AMQP_PREFIX' | 'AMQP_LANES'>) {}

  /** Starts a reading; `onSample` gets it when it comes. */
  sample(onSample: (depth: number | null) => void): void {
    if (this.busy) return;
    this.busy = true;
    void this.read().then((depth) => {
      this.last = depth;
      this.busy = false;
      onSample(depth);
    });
  }

  private async read(): Promise<number | null> {
    try {
      // A broker shutting down may accept a connection and never answer on it: bound every step.
      if (!this.probe) {
        const opening = openBrokerProbe({
          url: brokerUrls(this.config),
          prefix: this.config.AMQP_PREFIX,
          lanes: this.config.AMQP_LANES,
        });
        // Opened too late to be used: closed when it does.
        this.probe = await within(opening, READ_TIMEOUT_MS).catch((err: unknown) => {
          void opening.then(
            (p) => p.close(),
            () => undefined,
          );
          throw err;
        });
      }
      return (await within(this.probe.depths(), READ_TIMEOUT_MS)).queued;
    } catch {
      void this.probe?.close();
      this.probe = undefined;
      return null;
    }
  }

  async close(): Promise<void> {
    const deadline = Date.now() + READ_TIMEOUT_MS * 2;
    while (this.busy && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await within(this.probe?.close() ?? Promise.resolve(), READ_TIMEOUT_MS).catch(() => undefined);
  }
}

const READ_TIMEOUT_MS = 2_000;
