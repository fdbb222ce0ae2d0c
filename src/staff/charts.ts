/**
 * Charts for the staff dashboard, drawn here as SVG: no script, no inline `style` (the CSP allows
 * neither), colours as presentation attributes, and every piece of text escaped, since campaign,
 * partner and district names come from data. Each chart carries `role="img"` with a title and a
 * description; the page shows the same numbers in a table next to it.
 */

const numberFormat = new Intl.NumberFormat('en-US');
export const formatNumber = (value: number): string => numberFormat.format(value);

/** Characters XML does not allow at all (C0 controls but tab and line breaks, lone surrogates, U+FFFE/F). */

const NOT_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ENTITY: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe for SVG (and HTML) text and attribute values. */
export function escapeXml(value: unknown): string {
  return String(value ?? '')
    .replace(NOT_XML, '')
    .replace(/[&<>"']/g, (ch) => ENTITY[ch]!);
}

/** Ids for `aria-labelledby` and anchors: letters, digits, `-` and `_` only. */
export const safeId = (value: string): string => value.replace(/[^A-Za-z0-9_-]/g, '-');

/** A number for SVG output: at most two decimals, no trailing zeros. */
const n = (value: number): string => String(Math.round(value * 100) / 100);

export const COLOURS = {
  bar: '#2a6aa8',
  line: '#b3261e',
  axis: '#4a5866',
  grid: '#dfe4ea',
  text: '#15202b',
  muted: '#4a5866',
};
const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif';

function svgOpen(
  id: string,
  width: number,
  height: number,
  title: string,
  description: string,
  className: string,
): string {
  const base = safeId(id);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="${className}" id="${base}" viewBox="0 0 ${width} ${height}" ` +
    `role="img" aria-labelledby="${base}-title ${base}-desc" font-family="${FONT}" font-size="12" fill="${COLOURS.text}">` +
    `<title id="${base}-title">${escapeXml(title)}</title><desc id="${base}-desc">${escapeXml(description)}</desc>`
  );
}

// ---------------------------------------------------------------------------------------------
// Scales

/** Round steps (1, 2, 5 × 10^k) from 0 to at least `max`, about `count` of them. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  // Counts are whole numbers: steps of at least 1.
  const whole = Math.max(
    1,
    [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= rough) ?? 10 * power,
  );
  const top = Math.ceil(max / whole) * whole;
  const ticks: number[] = [];
  for (let value = 0; value <= top + whole / 2; value += whole) ticks.push(value);
  return ticks;
}

/** Short labels for axis ticks: 950, 1.2k, 15k, 2.5M. */
export function compactNumber(value: number): string {
  if (value < 1000) return String(value);
  if (value < 1_000_000) return `${Number((value / 1000).toFixed(value < 10_000 ? 1 : 0))}k`;
  return `${Number((value / 1_000_000).toFixed(value < 10_000_000 ? 1 : 0))}M`;
}

// ---------------------------------------------------------------------------------------------
// Signatures over time

export type Bucket = 'day' | 'week' | 'month';

export interface SeriesPoint {
  /** First and last day of the bucket (UTC dates, `YYYY-MM-DD`), clipped to the series' range. */
  start: string;
  end: string;
  count: number;
  /** Signatures up to and including this bucket. */
  cumulative: number;
}

export interface TimeSeries {
  bucket: Bucket;
  from: string;
  to: string;
  points: SeriesPoint[];
  total: number;
}

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The UTC day of a date as `YYYY-MM-DD`. */
export const utcDay = (date: Date): string => date.toISOString().slice(0, 10);

function dayNumber(date: string): number | undefined {
  const match = ISO_DATE.exec(date);
  if (!match) return undefined;
  const time = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return utcDay(new Date(time)) === date ? Math.round(time / DAY_MS) : undefined;
}
const dateOf = (day: number): string => utcDay(new Date(day * DAY_MS));

/** Days shown as days up to this span; longer spans as weeks, and beyond `WEEKS_UP_TO` as months. */
export const DAYS_UP_TO = 92;
export const WEEKS_UP_TO = 3 * 366;
/** The chart shows at least this many days, so a new campaign's first day is not one wide bar. */
const MIN_DAYS = 14;

/**
 * Signatures per day (UTC dates → counts), zero-filled from the first day with signatures (or two
 * weeks back) to `today`, grouped into weeks (from Monday) for spans past three months and into
 * months past three years, so the chart keeps a readable number of bars. Keys that are not dates
 * are ignored.
 */
export function signatureSeries(days: Record<string, number>, today: string): TimeSeries {
  const last = dayNumber(today);
  if (last === undefined) throw new RangeError(`not a date: ${today}`);
  const counts = new Map<number, number>();
  let first = last - (MIN_DAYS - 1);
  let end = last;
  for (const [date, count] of Object.entries(days)) {
    const day = dayNumber(date);
    if (day === undefined || !(count > 0)) continue;
    counts.set(day, (counts.get(day) ?? 0) + count);
    first = Math.min(first, day);
    end = Math.max(end, day);
  }
  const span = end - first + 1;
  const bucket: Bucket = span <= DAYS_UP_TO ? 'day' : span <= WEEKS_UP_TO ? 'week' : 'month';
  const startOf = (day: number): number => {
    if (bucket === 'day') return day;
    if (bucket === 'week') return day - ((new Date(day * DAY_MS).getUTCDay() + 6) % 7);
    const date = new Date(day * DAY_MS);
    return Math.round(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1) / DAY_MS);
  };
  const points: SeriesPoint[] = [];
  let cumulative = 0;
  for (let day = first; day <= end; day++) {
    const count = counts.get(day) ?? 0;
    cumulative += count;
    const current = points[points.length - 1];
    if (current && startOf(day) === startOf(day - 1)) {
      current.count += count;
      current.cumulative = cumulative;
      current.end = dateOf(day);
    } else {
      points.push({ start: dateOf(day), end: dateOf(day), count, cumulative });
    }
  }
  return { bucket, from: dateOf(first), to: dateOf(end), points, total: cumulative };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Mar 3, 2026"; without the year: "Mar 3"; for a month: "Mar 2026". */
export function dateLabel(date: string, form: 'full' | 'short' | 'month' = 'full'): string {
  const [year, month, day] = date.split('-');
  const name = MONTHS[Number(month) - 1] ?? month;
  if (form === 'month') return `${name} ${year}`;
  return form === 'short' ? `${name} ${Number(day)}` : `${name} ${Number(day)}, ${year}`;
}

/** How a bucket is named in the table and the description. */
export function bucketLabel(point: SeriesPoint, bucket: Bucket): string {
  if (bucket === 'day') return dateLabel(point.start);
  if (bucket === 'month') return dateLabel(point.start, 'month');
  return point.start === point.end
    ? dateLabel(point.start)
    : `${dateLabel(point.start, 'short')} – ${dateLabel(point.end)}`;
}

const PER: Record<Bucket, string> = { day: 'per day', week: 'per week', month: 'per month' };

export interface ChartOptions {
  /** Unique on the page: the SVG's id, and the base of its title's and description's ids. */
  id: string;
  title: string;
  width?: number;
}

/**
 * Signatures per bucket as bars (left axis) and the running total as a line (right axis), with
 * gridlines, ticks and date labels.
 */
export function timeSeriesChart(
  series: TimeSeries,
  options: ChartOptions & { height?: number },
): string {
  const width = options.width ?? 720;
  const height = options.height ?? 300;
  const margin = { top: 34, right: 58, bottom: 44, left: 50 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const points = series.points;
  const busiest = points.reduce<SeriesPoint | undefined>(
    (best, point) => (!best || point.count > best.count ? point : best),
    undefined,
  );
  const description =
    `Signatures ${PER[series.bucket]} from ${dateLabel(series.from)} to ${dateLabel(series.to)}: ${formatNumber(series.total)} in all` +
    (busiest && busiest.count > 0
      ? `; the busiest ${series.bucket} was ${bucketLabel(busiest, series.bucket)} with ${formatNumber(busiest.count)}.`
      : '.');

  const leftTicks = niceTicks(Math.max(...points.map((point) => point.count), 0), 4);
  const rightTicks = niceTicks(series.total, 4);
  const leftMax = leftTicks[leftTicks.length - 1]!;
  const rightMax = rightTicks[rightTicks.length - 1]!;
  const band = plotWidth / Math.max(1, points.length);
  const barWidth = Math.max(0.6, band * (band > 4 ? 0.78 : 0.9));
  const x = (index: number) => margin.left + index * band;
  const yLeft = (value: number) => margin.top + plotHeight - (value / leftMax) * plotHeight;
  const yRight = (value: number) => margin.top + plotHeight - (value / rightMax) * plotHeight;

  const out: string[] = [
    svgOpen(options.id, width, height, options.title, description, 'chart chart-time'),
  ];
  // Legend
  out.push(
    `<g class="chart-legend" font-size="12">` +
      `<rect x="${margin.left}" y="8" width="12" height="12" fill="${COLOURS.bar}"/>` +
      `<text x="${margin.left + 17}" y="18">Signatures ${PER[series.bucket]}</text>` +
      `<line x1="${margin.left + 170}" y1="14" x2="${margin.left + 192}" y2="14" stroke="${COLOURS.line}" stroke-width="2.5"/>` +
      `<text x="${margin.left + 197}" y="18">Total so far</text></g>`,
  );
  // Gridlines and the left axis (per bucket)
  out.push(`<g class="chart-axis" fill="${COLOURS.muted}" font-size="11">`);
  for (const tick of leftTicks) {
    const y = n(yLeft(tick));
    out.push(
      `<line x1="${margin.left}" y1="${y}" x2="${margin.left + plotWidth}" y2="${y}" stroke="${COLOURS.grid}"/>`,
    );
    out.push(
      `<text x="${margin.left - 6}" y="${y}" dy="4" text-anchor="end">${compactNumber(tick)}</text>`,
    );
  }
  // The right axis (running total)
  for (const tick of rightTicks) {
    out.push(
      `<text x="${margin.left + plotWidth + 6}" y="${n(yRight(tick))}" dy="4" fill="${COLOURS.line}">${compactNumber(tick)}</text>`,
    );
  }
  out.push('</g>');
  // Bars
  out.push(`<g class="chart-bars" fill="${COLOURS.bar}">`);
  points.forEach((point, index) => {
    if (point.count <= 0) return;
    const top = yLeft(point.count);
    const h = Math.max(1, margin.top + plotHeight - top);
    out.push(
      `<rect x="${n(x(index) + (band - barWidth) / 2)}" y="${n(margin.top + plotHeight - h)}" width="${n(barWidth)}" height="${n(h)}">` +
        `<title>${escapeXml(`${bucketLabel(point, series.bucket)}: ${formatNumber(point.count)}`)}</title></rect>`,
    );
  });
  out.push('</g>');
  // Cumulative line, through the end of each bucket
  if (points.length > 0) {
    const path = points
      .map(
        (point, index) =>
          `${index === 0 ? 'M' : 'L'}${n(x(index) + band / 2)} ${n(yRight(point.cumulative))}`,
      )
      .join('');
    out.push(
      `<path class="chart-line" d="${path}" fill="none" stroke="${COLOURS.line}" stroke-width="2.5" stroke-linejoin="round"/>`,
    );
    const lastIndex = points.length - 1;
    out.push(
      `<circle cx="${n(x(lastIndex) + band / 2)}" cy="${n(yRight(points[lastIndex]!.cumulative))}" r="3.5" fill="${COLOURS.line}"/>`,
    );
  }
  // The x axis: a baseline, and labels at round intervals
  const baseline = margin.top + plotHeight;
  out.push(`<g class="chart-axis" fill="${COLOURS.muted}" font-size="11" text-anchor="middle">`);
  out.push(
    `<line x1="${margin.left}" y1="${baseline}" x2="${margin.left + plotWidth}" y2="${baseline}" stroke="${COLOURS.axis}"/>`,
  );
  let lastYear = '';
  for (const index of labelledBuckets(points, series.bucket, plotWidth)) {
    const point = points[index]!;
    const cx = n(x(index) + band / 2);
    const year = point.start.slice(0, 4);
    const text =
      series.bucket === 'month'
        ? MONTHS[Number(point.start.slice(5, 7)) - 1]!
        : dateLabel(point.start, 'short');
    out.push(
      `<line x1="${cx}" y1="${baseline}" x2="${cx}" y2="${baseline + 4}" stroke="${COLOURS.axis}"/>`,
    );
    out.push(`<text x="${cx}" y="${baseline + 17}">${escapeXml(text)}</text>`);
    if (year !== lastYear) out.push(`<text x="${cx}" y="${baseline + 31}">${year}</text>`);
    lastYear = year;
  }
  out.push('</g>');
  out.push(
    `<text x="${margin.left - 6}" y="${margin.top - 6}" text-anchor="end" font-size="10" fill="${COLOURS.muted}">${PER[series.bucket]}</text>`,
    `<text x="${margin.left + plotWidth + 6}" y="${margin.top - 6}" font-size="10" fill="${COLOURS.line}">total</text>`,
  );
  out.push('</svg>');
  return out.join('');
}

/** Which buckets get a date label: round intervals (weeks, fortnights, months…) at most ~75 px apart. */
function labelledBuckets(points: SeriesPoint[], bucket: Bucket, plotWidth: number): number[] {
  if (points.length === 0) return [];
  const most = Math.max(2, Math.floor(plotWidth / 75));
  const steps =
    bucket === 'day'
      ? [1, 2, 7, 14, 28]
      : bucket === 'week'
        ? [1, 2, 4, 8, 13, 26, 52]
        : [1, 2, 3, 6, 12, 24];
  const step =
    steps.find((candidate) => Math.ceil(points.length / candidate) <= most) ??
    Math.ceil(points.length / most);
  const indexes: number[] = [];
  if (bucket === 'day' && step >= 7) {
    // Mondays, so labels fall on the same weekday.
    const firstMonday = points.findIndex(
      (point) => new Date(`${point.start}T00:00:00Z`).getUTCDay() === 1,
    );
    for (let index = Math.max(0, firstMonday); index < points.length; index += step)
      indexes.push(index);
  } else if (bucket === 'month' && step > 1) {
    for (let index = 0; index < points.length; index++)
      if ((Number(points[index]!.start.slice(5, 7)) - 1) % step === 0) indexes.push(index);
  } else {
    for (let index = 0; index < points.length; index += step) indexes.push(index);
  }
  return indexes;
}

// ---------------------------------------------------------------------------------------------
// Top-N horizontal bar charts

/**
 * A bar. No link: a chart is one image to assistive technology (`role="img"`), so nothing in it may
 * be focusable; the table next to it is the way in, row by row, for keyboards and screen readers.
 */
export interface BarDatum {
  label: string;
  value: number;
}

/** Longest label drawn in full; longer ones are cut with an ellipsis (the row's title has it whole). */
const LABEL_CHARS = 24;
/** A wide average width of a 12px character, so labels fit without being measured. */
const CHAR_WIDTH = 7.2;

export function truncate(label: string, max = LABEL_CHARS): string {
  const chars = [...label];
  return chars.length <= max
    ? label
    : `${chars
        .slice(0, max - 1)
        .join('')
        .trimEnd()}…`;
}

/** The `limit` largest values as horizontal bars, largest first, each with its value at its end. */
export function barChart(
  data: BarDatum[],
  options: ChartOptions & { limit?: number; unit?: [one: string, many: string] },
): string {
  const width = options.width ?? 360;
  const limit = options.limit ?? 10;
  const [one, many] = options.unit ?? ['signature', 'signatures'];
  const rows = [...data]
    .filter((datum) => datum.value > 0)
    .sort((a, b) => b.value - a.value || a.label.localeCompare(b.label))
    .slice(0, limit);
  const shown = rows.length;
  const total = data.filter((datum) => datum.value > 0).length;
  const description =
    shown === 0
      ? 'No data yet.'
      : `${shown < total ? `The ${shown} largest of ${total}` : `All ${total}`}: ` +
        rows.map((row) => `${row.label} ${formatNumber(row.value)}`).join(', ') +
        '.';
  const rowHeight = 24;
  const top = 6;
  const height = top + Math.max(1, shown) * rowHeight + 6;
  // Room for the longest label, at a generous average width per character (no text measuring here).
  const labelWidth =
    Math.min(
      LABEL_CHARS * CHAR_WIDTH,
      Math.max(40, ...rows.map((row) => [...truncate(row.label)].length * CHAR_WIDTH)),
    ) + 8;
  const valueWidth = Math.max(36, ...rows.map((row) => formatNumber(row.value).length * 7.2 + 10));
  const barSpace = width - labelWidth - valueWidth;
  const max = rows[0]?.value ?? 1;

  const out: string[] = [
    svgOpen(options.id, width, height, options.title, description, 'chart chart-bars-h'),
  ];
  if (shown === 0) {
    out.push(`<text x="0" y="${top + 16}" fill="${COLOURS.muted}">No data yet</text></svg>`);
    return out.join('');
  }
  rows.forEach((row, index) => {
    const y = top + index * rowHeight;
    const barLength = Math.max(1, (row.value / max) * barSpace);
    const full = `${row.label}: ${formatNumber(row.value)} ${row.value === 1 ? one : many}`;
    const body =
      `<title>${escapeXml(full)}</title>` +
      `<text x="${n(labelWidth - 8)}" y="${y + 16}" text-anchor="end">${escapeXml(truncate(row.label))}</text>` +
      `<rect x="${n(labelWidth)}" y="${y + 4}" width="${n(barLength)}" height="${rowHeight - 8}" fill="${COLOURS.bar}"/>` +
      `<text x="${n(labelWidth + barLength + 5)}" y="${y + 16}" fill="${COLOURS.muted}">${formatNumber(row.value)}</text>`;
    out.push(`<g class="chart-row">${body}</g>`);
  });
  out.push('</svg>');
  return out.join('');
}
