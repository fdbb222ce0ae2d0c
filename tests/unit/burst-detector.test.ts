import { BurstDetector, type DetectedBurst } from '../../src/abuse/bursts';

/**
 * The abuse report's one-pass detector on hand-made signatures (times in microseconds, in order):
 * the edges of a window, signatures at the same moment, bursts that touch or do not, a key that
 * comes back after its windows closed, and the cap on what it keeps. The integration tests compare
 * it with the report's first version (SQL) on random data.
 */
const MINUTE = 60_000_000;
const detector = (
  settings: Partial<{ window: number; ips: number; domains: number; limit: number }> = {},
) =>
  new BurstDetector(
    {
      windowMicros: (settings.window ?? 10) * MINUTE,
      ips: settings.ips ?? 2,
      domains: settings.domains ?? 1_000,
    },
    settings.limit ?? 200,
  );

/** Feeds `times` (minutes) for one IP hash (and a domain of their own each, never over its threshold). */
function feed(target: BurstDetector, ip: string, minutes: number[], firstId = 1) {
  minutes.forEach((minute, index) =>
    target.add(firstId + index, minute * MINUTE, ip, `domain-${ip}-${index}`),
  );
}

const summary = (bursts: DetectedBurst[]) =>
  bursts.map((burst) => ({
    key: burst.key,
    signatures: burst.signatures,
    peak: burst.peak,
    from: burst.firstAt / MINUTE,
    to: burst.lastAt / MINUTE,
  }));

describe('BurstDetector', () => {
  it('counts a signature at the very end of a window in it, and one just after not', () => {
    const inside = detector({ ips: 2 });
    feed(inside, 'a', [0, 5, 10]);
    expect(summary(inside.finish())).toEqual([
      { key: 'a', signatures: 3, peak: 3, from: 0, to: 10 },
    ]);

    const outside = detector({ ips: 2 });
    outside.add(1, 0, 'a', 'd1');
    outside.add(2, 5 * MINUTE, 'a', 'd2');
    outside.add(3, 10 * MINUTE + 1, 'a', 'd3');
    expect(outside.finish()).toEqual([]);
  });

  it("puts signatures made at the same moment in one another's windows", () => {
    const same = detector({ ips: 3 });
    feed(same, 'a', [1, 1, 1, 1]);
    expect(summary(same.finish())).toEqual([{ key: 'a', signatures: 4, peak: 4, from: 1, to: 1 }]);
  });

  it('joins windows over the threshold that overlap, and keeps apart those that do not', () => {
    const found = detector({ ips: 2 });
    // 0–10 and 8–18 overlap: one burst; 40–42 is another.
    feed(found, 'a', [0, 4, 8, 12, 18, 40, 41, 42]);
    expect(summary(found.finish())).toEqual([
      { key: 'a', signatures: 5, peak: 3, from: 0, to: 18 },
      { key: 'a', signatures: 3, peak: 3, from: 40, to: 42 },
    ]);
  });

  it('forgets a key once its windows have closed, and counts it afresh when it comes back', () => {
    const found = detector({ ips: 2 });
    feed(found, 'a', [0, 1, 2]);
    // Others sign meanwhile: the first burst's windows close and the key is forgotten.
    feed(found, 'b', [30, 60], 10);
    feed(found, 'a', [100, 101, 102, 103], 20);
    expect(summary(found.finish())).toEqual([
      { key: 'a', signatures: 4, peak: 4, from: 100, to: 103 },
      { key: 'a', signatures: 3, peak: 3, from: 0, to: 2 },
    ]);
  });

  it("counts every signature of the period between a burst's first and last as its span", () => {
    const found = detector({ ips: 2 });
    found.add(1, 0, 'a', 'x');
    found.add(2, 1 * MINUTE, null, 'y');
    found.add(3, 2 * MINUTE, 'a', 'z');
    found.add(4, 3 * MINUTE, 'b', 'w');
    found.add(5, 4 * MINUTE, 'a', 'v');
    expect(found.finish()).toEqual([
      expect.objectContaining({ key: 'a', signatures: 3, allInSpan: 5, sampleId: 1 }),
    ]);
  });

  it('keeps the biggest `limit` bursts, biggest first, however many it finds', () => {
    const found = detector({ ips: 1, limit: 3 });
    // 2,000 networks, each with a burst of 2 to 6 signatures.
    let id = 0;
    for (let network = 0; network < 2000; network++) {
      const size = 2 + (network % 5);
      for (let i = 0; i < size; i++)
        found.add(++id, (network * 20 + i) * MINUTE, `ip-${network}`, `d-${id}`);
    }
    const bursts = found.finish();
    expect(bursts.map((burst) => burst.signatures)).toEqual([6, 6, 6]);
    expect(bursts.map((burst) => burst.key)).toEqual(['ip-4', 'ip-9', 'ip-14']);
  });
});
