import type { Logger } from '../logger';
import { withTimeout } from '../time-limit';

/**
 * Requests for a per-campaign job from this process, throttled per campaign: the first signature
 * in a quiet period asks at once; signatures during the next `intervalMs` share one trailing
 * request. Either way a request is sent after each signature's commit, so a job that starts after
 * the commit follows every signature, while a burst of thousands costs Redis only a few queue
 * operations.
 */
export class CampaignRequests {
  private readonly windows = new Map<number, { timer: NodeJS.Timeout; pending: boolean }>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly enqueueJob: (campaignId: number) => Promise<void>,
    private readonly logger: Logger,
    private readonly what: string,
    private readonly intervalMs = 100,
  ) {}

  /** Called after a signature of this campaign is committed. Never throws, never waits. */
  request(campaignId: number): void {
    const window = this.windows.get(campaignId);
    if (window) window.pending = true;
    else this.send(campaignId);
  }

  private send(campaignId: number): void {
    this.enqueue(campaignId);
    const window = {
      pending: false,
      timer: setTimeout(() => {
        this.windows.delete(campaignId);
        if (window.pending) this.send(campaignId);
      }, this.intervalMs).unref(),
    };
    this.windows.set(campaignId, window);
  }

  private enqueue(campaignId: number): void {
    const sent = this.enqueueJob(campaignId).catch((error: unknown) => {
      // The signature is durable; the workers' periodic sweep finds it if this request is lost.
      this.logger.warn(
        { err: error, campaignId },
        `${this.what} request failed; the sweep will catch up`,
      );
    });
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }

  /**
   * On shutdown: sends the trailing requests now and waits (up to `timeoutMs`, in case Redis is
   * away) for every request to reach Redis. What does not arrive, the sweep counts later.
   */
  async flush(timeoutMs = 3000): Promise<void> {
    const windows = [...this.windows];
    this.windows.clear();
    for (const [campaignId, window] of windows) {
      clearTimeout(window.timer);
      if (window.pending) this.enqueue(campaignId);
    }
    await withTimeout(Promise.all(this.inFlight), timeoutMs).catch(() => undefined);
  }
}

/** Tally requests: each committed signature asks for its campaign's counts to be brought up to date. */
export class TallyRequests extends CampaignRequests {
  constructor(enqueue: (campaignId: number) => Promise<void>, logger: Logger, intervalMs = 100) {
    super(enqueue, logger, 'tally', intervalMs);
  }
}
