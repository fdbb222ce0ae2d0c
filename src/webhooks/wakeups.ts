import type { Logger } from '../logger';
import { CampaignRequests } from '../petitions/tally-requests';

/**
 * Wakes the delivery of subscriptions that have new events, after the events' commit. Throttled per
 * subscription like tally requests (one queue operation at once, then at most one per 100 ms):
 * the delivery job itself decides when to send (a full batch at once, a smaller one when its
 * oldest event has waited the batch window). A wake-up lost with Redis is made up by the workers'
 * sweep (jobs/deliver-webhooks.ts, `sweepWebhooks`).
 */
export class WebhookWakeups {
  private readonly requests: CampaignRequests;

  /** `enqueue`: queues a subscription's delivery job (jobs/deliver-webhooks.ts, `requestWebhookDelivery`). */
  constructor(
    enqueue: (subscriptionId: number) => Promise<void>,
    logger: Logger,
    intervalMs = 100,
  ) {
    this.requests = new CampaignRequests(enqueue, logger, 'webhook delivery', intervalMs);
  }

  /** Never throws, never waits. */
  /** `raised`: the subscriptions to wake (a map keyed by them, as the events' outbox returns it, or their ids). */
  wake(raised: Map<number, unknown> | Iterable<number>): void {
    for (const subscriptionId of raised instanceof Map ? raised.keys() : raised)
      this.requests.request(subscriptionId);
  }

  /** On shutdown: sends the trailing wake-ups and waits for them (the sweep covers any lost). */
  flush(): Promise<void> {
    return this.requests.flush();
  }
}
