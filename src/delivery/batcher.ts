/**
 * Gathers calls into batches, so that many callers cost one statement or one round trip rather
 * than one each: the calls made in the same turn of the event loop, or while the previous batch
 * runs, go together in the next one. One batch runs at a time, so a batch is never larger than
 * the number of callers waiting (a worker's concurrency), and a lone call goes at once.
 */
export class Batcher<Item, Result> {
  private waiting: Array<{
    item: Item;
    resolve: (result: Result) => void;
    reject: (error: unknown) => void;
  }> = [];
  private busy = false;

  /** `run` answers with one result per item, in the items' order (or nothing, when `Result` is void). */
  constructor(private readonly run: (items: Item[]) => Promise<Result[] | void>) {}

  submit(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.busy || this.waiting.length === 0) return;
    this.busy = true;
    setImmediate(() => void this.runWaiting());
  }

  private async runWaiting(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    try {
      const results = await this.run(batch.map((call) => call.item));
      batch.forEach((call, i) => call.resolve(results?.[i] as Result));
    } catch (error) {
      for (const call of batch) call.reject(error);
    } finally {
      this.busy = false;
      this.next();
    }
  }
}
