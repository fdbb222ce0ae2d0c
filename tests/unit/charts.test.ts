import {
  barChart,
  bucketLabel,
  compactNumber,
  niceTicks,
  signatureSeries,
  timeSeriesChart,
  truncate,
} from '../../src/graphics/charts';

/** XML well-formedness, enough for our SVG: tags nest and close, attributes are quoted, no bare `<` or `&`. */
function wellFormed(xml: string): boolean {
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/y;
  const badAmpersand = /&(?!(?:amp|lt|gt|quot|#\d+|#x[\da-fA-F]+);)/;
  const stack: string[] = [];
  while (token.lastIndex < xml.length) {
    const match = token.exec(xml);
    if (!match) return false;
    const [, close, name, attributes, selfClosing, text] = match;
    if (text !== undefined ? badAmpersand.test(text) : badAmpersand.test(attributes ?? ''))
      return false;
    if (text !== undefined) continue;
    if (close) {
      if (stack.pop() !== name) return false;
    } else if (!selfClosing) stack.push(name!);
  }
  return stack.length === 0;
}

describe('signatureSeries', () => {
  it('zero-fills the days between, from two weeks back at least, with a running total', () => {
    const series = signatureSeries({ '2026-03-10': 5, '2026-03-12': 2 }, '2026-03-12');
    expect(series.bucket).toBe('day');
    expect(series.from).toBe('2026-02-27');
    expect(series.to).toBe('2026-03-12');
    expect(series.points).toHaveLength(14);
    expect(series.points.slice(-3)).toEqual([
      { start: '2026-03-10', end: '2026-03-10', count: 5, cumulative: 5 },
      { start: '2026-03-11', end: '2026-03-11', count: 0, cumulative: 5 },
      { start: '2026-03-12', end: '2026-03-12', count: 2, cumulative: 7 },
    ]);
    expect(series.total).toBe(7);
  });

  it('starts at the first day with signatures and runs to today', () => {
    const series = signatureSeries({ '2026-01-01': 1, '2026-02-15': 3 }, '2026-03-01');
    expect(series.from).toBe('2026-01-01');
    expect(series.to).toBe('2026-03-01');
    expect(series.points).toHaveLength(60);
    expect(series.points.every((point) => point.start === point.end)).toBe(true);
    expect(series.points.at(-1)!.cumulative).toBe(4);
  });

  it('groups a year into weeks that start on Monday, and counts every signature once', () => {
    const days: Record<string, number> = {};
    for (let day = 0; day < 365; day++)
      days[new Date(Date.UTC(2025, 0, 1) + day * 86_400_000).toISOString().slice(0, 10)] =
        (day % 5) + 1;
    const total = Object.values(days).reduce((a, b) => a + b, 0);
    const series = signatureSeries(days, '2025-12-31');
    expect(series.bucket).toBe('week');
    expect(series.total).toBe(total);
    expect(series.points.reduce((sum, point) => sum + point.count, 0)).toBe(total);
    // 2025-01-01 is a Wednesday: the first week is cut to Wed–Sun, the next starts on Monday the 6th.
    expect(series.points[0]).toMatchObject({ start: '2025-01-01', end: '2025-01-05' });
    expect(series.points[1]).toMatchObject({ start: '2025-01-06', end: '2025-01-12' });
    expect(
      series.points
        .slice(1)
        .every((point) => new Date(`${point.start}T00:00:00Z`).getUTCDay() === 1),
    ).toBe(true);
    expect(series.points.length).toBe(53);
    expect(series.points.at(-1)!.cumulative).toBe(total);
    expect(bucketLabel(series.points[1]!, 'week')).toBe('Jan 6 – Jan 12, 2025');
  });

  it('groups more than three years into months', () => {
    const series = signatureSeries({ '2021-05-20': 10, '2023-01-02': 1 }, '2025-06-30');
    expect(series.bucket).toBe('month');
    expect(series.points[0]).toMatchObject({ start: '2021-05-20', end: '2021-05-31', count: 10 });
    expect(series.points[1]).toMatchObject({ start: '2021-06-01', end: '2021-06-30', count: 0 });
    expect(series.points.at(-1)).toMatchObject({
      start: '2025-06-01',
      end: '2025-06-30',
      cumulative: 11,
    });
    expect(bucketLabel(series.points[1]!, 'month')).toBe('Jun 2021');
  });

  it('ignores keys that are not dates, and refuses a bad "today"', () => {
    const series = signatureSeries(
      { '2026-02-30': 9, nonsense: 4, '2026-03-01': -3, '2026-03-02': 1 },
      '2026-03-02',
    );
    expect(series.total).toBe(1);
    expect(() => signatureSeries({}, 'yesterday')).toThrow(RangeError);
  });
});

describe('timeSeriesChart', () => {
  const series = signatureSeries(
    { '2026-03-01': 120, '2026-03-02': 40, '2026-03-05': 1500 },
    '2026-03-07',
  );

  it('is an accessible image with axes, bars for non-empty days and a cumulative line', () => {
    const svg = timeSeriesChart(series, { id: 'chart-time', title: 'Signatures over time' });
    expect(wellFormed(svg)).toBe(true);
    expect(svg).toMatch(
      /^<svg [^>]*role="img"[^>]*aria-labelledby="chart-time-title chart-time-desc"/,
    );
    expect(svg).toContain('<title id="chart-time-title">Signatures over time</title>');
    expect(svg).toContain(
      '<desc id="chart-time-desc">Signatures per day from Feb 22, 2026 to Mar 7, 2026: 1,660 in all; the busiest day was Mar 5, 2026 with 1,500.</desc>',
    );
    expect(svg.match(/<rect [^>]*height="[\d.]+"><title>/g)).toHaveLength(3);
    expect(svg).toContain('<title>Mar 5, 2026: 1,500</title>');
    expect(svg).toMatch(/<path class="chart-line" d="M[\d. L]+"/);
    // Ticks on both axes, in round steps; date labels with the year once.
    expect(svg).toContain('>1.5k</text>');
    expect(svg).toContain('>Feb 24</text>');
    expect(svg.match(/>2026<\/text>/g)).toHaveLength(1);
    expect(svg).not.toContain('style=');
  });

  it('escapes the title and still draws an empty series', () => {
    const svg = timeSeriesChart(signatureSeries({}, '2026-03-07'), {
      id: 'x"><script>',
      title: 'A <b>"bold"</b> & campaign\u0000\u0007',
    });
    expect(wellFormed(svg)).toBe(true);
    // What XML cannot hold at all is dropped (text-safety's rule), the rest escaped by the template.
    expect(svg).not.toMatch(/[\u0000\u0007]/);
    expect(svg).toContain('A &lt;b&gt;&quot;bold&quot;&lt;/b&gt; &amp; campaign');
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('id="x---script-"');
    expect(svg).toContain('0 in all.');
  });
});

describe('barChart', () => {
  const data = [
    { label: 'Colorado', value: 30 },
    { label: 'Alaska', value: 5 },
    { label: '<Evil> & "Co"', value: 12 },
    { label: 'A partner with a really very long name indeed', value: 7 },
    { label: 'Nobody', value: 0 },
  ];

  it('draws the largest first, at most `limit` rows, each with its value, escaped', () => {
    const svg = barChart(data, { id: 'chart-states', title: 'Top states', limit: 3 });
    expect(wellFormed(svg)).toBe(true);
    expect(svg).toContain('role="img"');
    const labels = [...svg.matchAll(/text-anchor="end">([^<]*)<\/text>/g)].map((match) => match[1]);
    expect(labels).toEqual([
      'Colorado',
      '&lt;Evil&gt; &amp; &quot;Co&quot;',
      'A partner with a really…',
    ]);
    expect(svg).toContain(
      '<title>A partner with a really very long name indeed: 7 signatures</title>',
    );
    // One image to assistive technology: nothing in it can take focus (the table beside it is the way in).
    expect(svg).not.toMatch(/<a\b|tabindex/);
    expect(svg).toContain(
      '<desc id="chart-states-desc">The 3 largest of 4: Colorado 30, &lt;Evil&gt; &amp; &quot;Co&quot; 12, A partner with a really very long name indeed 7.</desc>',
    );
    expect(svg).not.toContain('Nobody');
    expect(svg).not.toContain('Alaska');
  });

  it('says so when there is nothing to draw', () => {
    const svg = barChart([{ label: 'Nobody', value: 0 }], { id: 'empty', title: 'Nothing' });
    expect(wellFormed(svg)).toBe(true);
    expect(svg).toContain('No data yet');
  });
});

describe('scales and labels', () => {
  it("ticks in whole, round steps (d3-scale's) up to at least the maximum", () => {
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(3, 4)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(10, 4)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(1500, 4)).toEqual([0, 500, 1000, 1500]);
    expect(niceTicks(1234, 4)).toEqual([0, 500, 1000, 1500]);
    expect(niceTicks(2, 4)).toEqual([0, 1, 2]);
  });

  it('shortens numbers and labels', () => {
    expect([950, 1234, 15_000, 2_500_000].map(compactNumber)).toEqual([
      '950',
      '1.2k',
      '15k',
      '2.5M',
    ]);
    expect(truncate('short')).toBe('short');
    expect(truncate('ʻŌiwi '.repeat(10), 8)).toBe('ʻŌiwi ʻ…');
  });
});
