import { safeId } from './charts';
import { insetFrames, type InsetFrame, type MapOutline } from './district-map';
import { svgTemplate } from './svg';

/**
 * A map of the states (the outline's state shapes, dissolved from the districts at import), each
 * filled by where a ban stands, with markers at places, drawn on the server as SVG. Colour is never
 * the only difference: a ban in a city or county is also hatched, markers are round, and the legend
 * says in words what each one means. The map is one image to assistive technology; the page's list
 * of places is the way in.
 */

export type BanStatus = 'statewide' | 'local' | 'none';

export const BAN_STATUSES: readonly BanStatus[] = ['statewide', 'local', 'none'];

/** Fill and, for a local ban, the hatching over it (`null`: solid). */
export const STATUS_STYLE: Record<BanStatus, { fill: string; hatch: string | null }> = {
  statewide: { fill: '#12355b', hatch: null },
  local: { fill: '#93c0e3', hatch: '#12355b' },
  none: { fill: '#e4e7eb', hatch: null },
};

export const MARKER_STYLE = { fill: '#b3400b', stroke: '#ffffff', radius: 8 };

export interface StateMapOptions {
  /** Unique on the page. */
  id: string;
  title: string;
  description: string;
  /** A state's status and its name as its title ("Colorado: Ban in a city or county"), by FIPS code; none leaves it out. */
  describeState: (fips: string) => { status: BanStatus; label: string } | undefined;
  /** An inset's label, by its key (`ak`, `hi`, `dc`…), in the page's language. */
  insetLabel: (key: string) => string;
  /** Places, already projected onto the outline (see `projectPoint`). */
  markers: Array<{ x: number; y: number; label: string }>;
  /** The legend's words: one per status, and one for a marker. */
  legend: Record<BanStatus | 'marker', string>;
}

const mapTemplate = svgTemplate<{
  id: string;
  width: number;
  height: number;
  title: string;
  description: string;
  hatch: { fill: string; stroke: string };
  insets: InsetFrame[];
  states: Array<{ d: string; fill: string; hatched: boolean; status: BanStatus; title: string }>;
  marker: typeof MARKER_STYLE;
  markers: Array<{ x: number; y: number; title: string }>;
}>('state-map');

const legendTemplate = svgTemplate<{
  id: string;
  hatch: { fill: string; stroke: string };
  items: Array<{ status: BanStatus; fill: string; hatched: boolean; text: string }>;
  marker: typeof MARKER_STYLE & { text: string };
}>('state-map-legend');

export function renderStateMap(
  outline: MapOutline,
  options: StateMapOptions,
): { map: string; legend: string } {
  const id = safeId(options.id);
  const hatch = { fill: STATUS_STYLE.local.fill, stroke: STATUS_STYLE.local.hatch! };
  const map = mapTemplate({
    id,
    width: outline.width,
    height: outline.height,
    title: options.title,
    description: options.description,
    hatch,
    insets: insetFrames(outline, (inset) => options.insetLabel(inset.key)),
    states: outline.states.flatMap((state) => {
      const described = options.describeState(state.fips);
      if (!described) return [];
      const style = STATUS_STYLE[described.status];
      return [
        {
          d: state.d,
          fill: style.fill,
          hatched: style.hatch !== null,
          status: described.status,
          title: described.label,
        },
      ];
    }),
    marker: MARKER_STYLE,
    markers: options.markers.map(({ x, y, label }) => ({ x, y, title: label })),
  });
  const legend = legendTemplate({
    id: `${id}-legend`,
    hatch,
    items: (['statewide', 'local', 'none'] as const).map((status) => ({
      status,
      fill: STATUS_STYLE[status].fill,
      hatched: STATUS_STYLE[status].hatch !== null,
      text: options.legend[status],
    })),
    marker: { ...MARKER_STYLE, text: options.legend.marker },
  });
  return { map, legend };
}
