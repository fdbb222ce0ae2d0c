import { escapeXml } from '../text-safety/characters';

/**
 * A map of the states as equal tiles, drawn on the server as SVG: each state a square near where
 * it lies, so small states are as easy to see (and read) as large ones, with no geometry to load.
 */

/** [row, column] of each state's tile. */
const TILES: Record<string, [number, number]> = {
  AK: [0, 0],
  ME: [0, 10],
  WI: [1, 5],
  VT: [1, 9],
  NH: [1, 10],
  WA: [2, 0],
  ID: [2, 1],
  MT: [2, 2],
  ND: [2, 3],
  MN: [2, 4],
  IL: [2, 5],
  MI: [2, 6],
  NY: [2, 8],
  MA: [2, 9],
  OR: [3, 0],
  NV: [3, 1],
  WY: [3, 2],
  SD: [3, 3],
  IA: [3, 4],
  IN: [3, 5],
  OH: [3, 6],
  PA: [3, 7],
  NJ: [3, 8],
  CT: [3, 9],
  RI: [3, 10],
  CA: [4, 0],
  UT: [4, 1],
  CO: [4, 2],
  NE: [4, 3],
  MO: [4, 4],
  KY: [4, 5],
  WV: [4, 6],
  VA: [4, 7],
  MD: [4, 8],
  DE: [4, 9],
  AZ: [5, 1],
  NM: [5, 2],
  KS: [5, 3],
  AR: [5, 4],
  TN: [5, 5],
  NC: [5, 6],
  SC: [5, 7],
  DC: [5, 8],
  OK: [6, 3],
  LA: [6, 4],
  MS: [6, 5],
  AL: [6, 6],
  GA: [6, 7],
  HI: [7, 0],
  TX: [7, 3],
  FL: [7, 8],
};

export type TileState = 'statewide' | 'local' | 'none';

export const TILE_COLOURS: Record<TileState, { fill: string; text: string }> = {
  statewide: { fill: '#12355b', text: '#ffffff' },
  local: { fill: '#93c0e3', text: '#111111' },
  none: { fill: '#e4e7eb', text: '#111111' },
};

const SIZE = 44;
const GAP = 4;

/** The SVG of the tile map; `title` and `desc` name it for screen readers, `label` each tile's status. */
export function stateTileMap(options: {
  status: (state: string) => TileState;
  label: (state: string, status: TileState) => string;
  title: string;
  desc: string;
}): string {
  const width = 11 * (SIZE + GAP);
  const height = 8 * (SIZE + GAP);
  const tiles = Object.entries(TILES).map(([state, [row, column]]) => {
    const status = options.status(state);
    const colours = TILE_COLOURS[status];
    const x = column * (SIZE + GAP);
    const y = row * (SIZE + GAP);
    return (
      `<g><title>${escapeXml(options.label(state, status))}</title>` +
      `<rect x="${x}" y="${y}" width="${SIZE}" height="${SIZE}" rx="4" fill="${colours.fill}"/>` +
      `<text x="${x + SIZE / 2}" y="${y + SIZE / 2 + 5}" text-anchor="middle" font-size="14" fill="${colours.text}">${state}</text></g>`
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="tile-map-title tile-map-desc" class="tile-map">` +
    `<title id="tile-map-title">${escapeXml(options.title)}</title>` +
    `<desc id="tile-map-desc">${escapeXml(options.desc)}</desc>` +
    tiles.join('') +
    '</svg>'
  );
}
