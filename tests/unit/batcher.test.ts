import { Batcher } from '../../src/delivery/batcher';

/** A batch run that the test finishes by hand, so that what waits meanwhile can be seen. */
function manualRuns() {
  const runs: Array<{ items: number[]; finish: () => void; fail: (error: Error) => void }> = [];
  const batcher = new Batcher(
    (items: number[]) =>
      new Promise<string[]>((resolve, reject) => {
        runs.push({
          items,
          finish: () => resolve(items.map((item) => `result ${item}`)),
          fail: reject,
        });
      }),
  );
  return { batcher, runs };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('Batcher', () => {
  it('runs the calls of one turn together, and each caller gets its own result', async () => {
    const { batcher, runs } = manualRuns();
    const results = Promise.all([1, 2, 3].map((item) => batcher.submit(item)));
    await turn();
    expect(runs.map((run) => run.items)).toEqual([[1, 2, 3]]);
    runs[0]!.finish();
    expect(await results).toEqual(['result 1', 'result 2', 'result 3']);
  });

  it('gathers the calls made while a batch runs into the next one, and runs one batch at a time', async () => {
    const { batcher, runs } = manualRuns();
    const first = batcher.submit(1);
    await turn();
    const later = [batcher.submit(2), batcher.submit(3)];
    await turn();
    expect(runs.map((run) => run.items)).toEqual([[1]]);
    runs[0]!.finish();
    expect(await first).toBe('result 1');
    await turn();
    expect(runs.map((run) => run.items)).toEqual([[1], [2, 3]]);
    runs[1]!.finish();
    expect(await Promise.all(later)).toEqual(['result 2', 'result 3']);
  });

  it('fails the calls of a failed batch, and only those', async () => {
    const { batcher, runs } = manualRuns();
    const failing = [batcher.submit(1), batcher.submit(2)];
    await turn();
    const next = batcher.submit(3);
    runs[0]!.fail(new Error('the statement failed'));
    await expect(Promise.all(failing)).rejects.toThrow('the statement failed');
    await expect(failing[1]).rejects.toThrow('the statement failed');
    await turn();
    runs[1]!.finish();
    expect(await next).toBe('result 3');
  });
});
