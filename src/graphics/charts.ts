import { max, rollup, sum } from 'd3-array';
import { scaleBand, scaleLinear } from 'd3-scale';
import { utcDay as dayInterval, utcMonday, utcMonth, type CountableTimeInterval } from 'd3-time';
import { svgTemplate } from './svg';

/**
 * Charts for the staff dashboard and the partners' pages, drawn on the server as SVG: no script, no
 * inline `style` (the CSP allows neither), colours as presentation attributes. The scales, ticks
 * and date buckets come from d3 (`d3-scale`, `d3-array`, `d3-time`); the SVG is written by the
 * templates in `views/graphics/`, whose escaping covers every name that comes from data. Each chart
 * carries `role="img"` with a title and a description; the page shows the same numbers in a table
 * next to it.
 */

const numberFormat = new Intl.NumberFormat('en-US');
export const formatNumber = (value: number): string => numberFormat.format(value);

/** Ids for `aria-labelledby` and anchors: letters, digits, `-` and `_` only. */
export const safeId = (value: string): string => value.replace(/[^A-Za-z0-9_-]/g, '-');

/** A number for SVG output: at most two decimals, no trailing zeros. */
const n = (value: number): number => Math.round(value * 100) / 100;

export const COLOURS = {
  bar: '#2a6aa8',
  line: '#b3261e',
  axis: '#4a5866',
  grid: '#dfe4ea',
  text: '#15202b',
  muted: '#4a5866',
};
const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif';

// ---------------------------------------------------------------------------------------------
// Scales

/** A count axis from 0: d3's round steps (1, 2, 5 × 10^k), whole numbers only, up to at least `max`. */
export function countScale(maximum: number, count = 5) {
  const scale = scaleLinear()
    .domain([0, maximum > 0 ? maximum : 1])
    .nice(count);
  const ticks = scale.ticks(count).filter(Number.isInteger);
  // The axis ends on its last tick, so the top gridline is the top of the plot.
  scale.domain([0, ticks[ticks.length - 1]!]);
  return { scale, ticks };
}

/** The axis ticks of `countScale`. */
export const niceTicks = (maximum: number, count = 5): number[] => countScale(maximum, count).ticks;

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

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The UTC day of a date as `YYYY-MM-DD`. */
export const utcDay = (date: Date): string => date.toISOString().slice(0, 10);

/** The UTC midnight of a `YYYY-MM-DD` date, or undefined when it is not a real date. */
function dateOf(date: string): Date | undefined {
  if (!ISO_DATE.test(date)) return undefined;
  const day = new Date(`${date}T00:00:00Z`);
  return !Number.isNaN(day.getTime()) && utcDay(day) === date ? day : undefined;
}

/** Days shown as days up to this span; longer spans as weeks, and beyond `WEEKS_UP_TO` as months. */
export const DAYS_UP_TO = 92;
export const WEEKS_UP_TO = 3 * 366;
/** The chart shows at least this many days, so a new campaign's first day is not one wide bar. */
const MIN_DAYS = 14;

const INTERVALS: Record<Bucket, CountableTimeInterval> = {
  day: dayInterval,
  week: utcMonday,
  month: utcMonth,
};

/**
 * Signatures per day (UTC dates → counts), zero-filled from the first day with signatures (or two
 * weeks back) to `today`, grouped into weeks (from Monday) for spans past three months and into
 * months past three years, so the chart keeps a readable number of bars. Keys that are not dates
 * are ignored.
 */
export function signatureSeries(days: Record<string, number>, today: string): TimeSeries {
  const last = dateOf(today);
  if (last === undefined) throw new RangeError(`not a date: ${today}`);
  const counted = Object.entries(days).flatMap(([date, count]) => {
    const day = dateOf(date);
    return day !== undefined && count > 0 ? [{ day, count }] : [];
  });
  const first = dayInterval.offset(last, -(MIN_DAYS - 1));
  const from = new Date(Math.min(first.getTime(), ...counted.map(({ day }) => day.getTime())));
  const to = new Date(Math.max(last.getTime(), ...counted.map(({ day }) => day.getTime())));
  const span = dayInterval.count(from, to) + 1;
  const bucket: Bucket = span <= DAYS_UP_TO ? 'day' : span <= WEEKS_UP_TO ? 'week' : 'month';
  const interval = INTERVALS[bucket];

  // Bins: the signatures of each bucket, keyed by the bucket's first day.
  const binned = rollup(
    counted,
    (entries) => sum(entries, (entry) => entry.count),
    ({ day }) => interval.floor(day).getTime(),
  );
  const points: SeriesPoint[] = [];
  let cumulative = 0;
  for (const start of interval.range(interval.floor(from), dayInterval.offset(to, 1))) {
    const end = dayInterval.offset(interval.offset(start, 1), -1);
    const count = binned.get(start.getTime()) ?? 0;
    cumulative += count;
    points.push({
      start: utcDay(start < from ? from : start),
      end: utcDay(end > to ? to : end),
      count,
      cumulative,
    });
  }
  return { bucket, from: utcDay(from), to: utcDay(to), points, total: cumulative };
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

interface TimeChartView {
  id: string;
  width: number;
  height: number;
  font: string;
  colours: typeof COLOURS;
  title: string;
  description: string;
  per: string;
  legend: { x: number; textX: number; lineX1: number; lineX2: number; totalX: number };
  plot: {
    left: number;
    right: number;
    top: number;
    bottom: number;
    leftLabelX: number;
    rightLabelX: number;
    captionY: number;
  };
  leftTicks: Array<{ y: number; label: string }>;
  rightTicks: Array<{ y: number; label: string }>;
  bars: Array<{ x: number; y: number; width: number; height: number; title: string }>;
  line: { d: string; endX: number; endY: number } | null;
  labels: Array<{
    x: number;
    text: string;
    year: string | null;
    textY: number;
    yearY: number;
    tickEnd: number;
  }>;
}

const timeChartTemplate = svgTemplate<TimeChartView>('time-series-chart');

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

  const baseline = margin.top + plotHeight;
  const left = countScale(max(points, (point) => point.count) ?? 0, 4);
  const right = countScale(series.total, 4);
  left.scale.range([baseline, margin.top]);
  right.scale.range([baseline, margin.top]);
  const x = scaleBand<number>()
    .domain(points.map((_, index) => index))
    .range([margin.left, margin.left + plotWidth]);
  const band = x.step();
  const barWidth = Math.max(0.6, band * (band > 4 ? 0.78 : 0.9));
  const centre = (index: number) => x(index)! + band / 2;

  const lastIndex = points.length - 1;
  let lastYear = '';
  const view: TimeChartView = {
    id: safeId(options.id),
    width,
    height,
    font: FONT,
    colours: COLOURS,
    title: options.title,
    description,
    per: PER[series.bucket],
    legend: {
      x: margin.left,
      textX: margin.left + 17,
      lineX1: margin.left + 170,
      lineX2: margin.left + 192,
      totalX: margin.left + 197,
    },
    plot: {
      left: margin.left,
      right: margin.left + plotWidth,
      top: margin.top,
      bottom: baseline,
      leftLabelX: margin.left - 6,
      rightLabelX: margin.left + plotWidth + 6,
      captionY: margin.top - 6,
    },
    leftTicks: left.ticks.map((tick) => ({ y: n(left.scale(tick)), label: compactNumber(tick) })),
    rightTicks: right.ticks.map((tick) => ({
      y: n(right.scale(tick)),
      label: compactNumber(tick),
    })),
    bars: points.flatMap((point, index) => {
      if (point.count <= 0) return [];
      const h = Math.max(1, baseline - left.scale(point.count));
      return [
        {
          x: n(x(index)! + (band - barWidth) / 2),
          y: n(baseline - h),
          width: n(barWidth),
          height: n(h),
          title: `${bucketLabel(point, series.bucket)}: ${formatNumber(point.count)}`,
        },
      ];
    }),
    // The running total, through the middle of each bucket.
    line:
      points.length > 0
        ? {
            d: points
              .map(
                (point, index) =>
                  `${index === 0 ? 'M' : 'L'}${n(centre(index))} ${n(right.scale(point.cumulative))}`,
              )
              .join(''),
            endX: n(centre(lastIndex)),
            endY: n(right.scale(points[lastIndex]!.cumulative)),
          }
        : null,
    labels: labelledBuckets(points, series.bucket, plotWidth).map((index) => {
      const point = points[index]!;
      const year = point.start.slice(0, 4);
      const shown = year !== lastYear ? year : null;
      lastYear = year;
      return {
        x: n(centre(index)),
        text:
          series.bucket === 'month'
            ? MONTHS[Number(point.start.slice(5, 7)) - 1]!
            : dateLabel(point.start, 'short'),
        year: shown,
        tickEnd: baseline + 4,
        textY: baseline + 17,
        yearY: baseline + 31,
      };
    }),
  };
  return timeChartTemplate(view);
}

/**
 * Which buckets get a date label: round intervals (weeks, fortnights, months…) at most ~75 px
 * apart, on the same weekday or the same months of each year, as d3-time counts them.
 */
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
  const starts = points.map((point) => new Date(`${point.start}T00:00:00Z`));
  const indexes: number[] = [];
  if (bucket === 'day' && step >= 7) {
    // Mondays, so labels fall on the same weekday.
    const firstMonday = starts.findIndex(
      (start) => utcMonday.floor(start).getTime() === start.getTime(),
    );
    for (let index = Math.max(0, firstMonday); index < points.length; index += step)
      indexes.push(index);
  } else if (bucket === 'month' && step > 1) {
    // Months that start a step of the year: January, April, July, October for quarters.
    const every = utcMonth.every(step)!;
    starts.forEach((start, index) => {
      if (every.floor(start).getTime() === utcMonth.floor(start).getTime()) indexes.push(index);
    });
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

export function truncate(label: string, maxChars = LABEL_CHARS): string {
  const chars = [...label];
  return chars.length <= maxChars
    ? label
    : `${chars
        .slice(0, maxChars - 1)
        .join('')
        .trimEnd()}…`;
}

interface BarChartView {
  id: string;
  width: number;
  height: number;
  font: string;
  colours: typeof COLOURS;
  title: string;
  description: string;
  emptyY: number;
  rows: Array<{
    title: string;
    label: string;
    labelX: number;
    textY: number;
    barX: number;
    barY: number;
    barLength: number;
    barHeight: number;
    valueX: number;
    value: string;
  }>;
}

const barChartTemplate = svgTemplate<BarChartView>('bar-chart');

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
  const length = scaleLinear()
    .domain([0, rows[0]?.value ?? 1])
    .range([0, width - labelWidth - valueWidth]);
  const y = scaleBand<number>()
    .domain(rows.map((_, index) => index))
    .range([top, top + shown * rowHeight]);

  return barChartTemplate({
    id: safeId(options.id),
    width,
    height,
    font: FONT,
    colours: COLOURS,
    title: options.title,
    description,
    emptyY: top + 16,
    rows: rows.map((row, index) => {
      const rowTop = y(index)!;
      const barLength = Math.max(1, length(row.value));
      return {
        title: `${row.label}: ${formatNumber(row.value)} ${row.value === 1 ? one : many}`,
        label: truncate(row.label),
        labelX: n(labelWidth - 8),
        textY: rowTop + 16,
        barX: n(labelWidth),
        barY: rowTop + 4,
        barLength: n(barLength),
        barHeight: rowHeight - 8,
        valueX: n(labelWidth + barLength + 5),
        value: formatNumber(row.value),
      };
    }),
  });
}
