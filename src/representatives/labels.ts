import type { DistrictSet, Official } from './districts';

/** How offices are named to people: on the lookup page, and in letters' address blocks and salutations. */

const OFFICE_LABEL: Record<Official['office'], string> = {
  'us-house': 'U.S. Representative',
  'us-senate': 'U.S. Senator',
  'state-upper': 'State Senator',
  'state-lower': 'State Representative',
  governor: 'Governor',
  custom: '',
};

/** Lower chambers called the Assembly, and the Houses of Delegates. */
const ASSEMBLY_STATES = new Set(['CA', 'NV', 'NJ', 'NY', 'WI']);
const DELEGATE_STATES = new Set(['MD', 'VA', 'WV']);

/** Some offices have their own titles: DC's council and delegate, Assembly members, Delegates. */
export function officeLabel(official: Official): string {
  if (official.state === 'DC' && official.office === 'state-upper') return 'D.C. Council member';
  if (official.office === 'state-lower' && ASSEMBLY_STATES.has(official.state)) return 'Assembly Member';
  if (official.office === 'state-lower' && DELEGATE_STATES.has(official.state)) return 'Delegate';
  if (official.office === 'us-house' && official.state === 'PR') return 'Resident Commissioner';
  if (official.office === 'us-house' && ['DC', 'AS', 'GU', 'MP', 'VI'].includes(official.state)) return 'Delegate to the U.S. House';
  return OFFICE_LABEL[official.office];
}

function seatLabel(official: Official): string {
  if (official.state === 'DC' && official.office !== 'state-upper') return '';
  if (official.state === 'DC') return official.district === 'Chairman' ? ' (Chairman)' : ` (${official.district})`;
  if (official.office === 'us-senate' || official.office === 'governor') return `, ${official.state}`;
  if (official.office === 'us-house') return official.district === '0' ? `, ${official.state} at-large` : `, ${official.state}-${official.district}`;
  return `, ${official.state} district ${official.district}`;
}


/** The office in full: "U.S. Senator, CO", "State Representative, CO district 3", or a custom target's own title. */
export function officeDescription(official: Official): string {
  return official.office === 'custom' ? (official.title ?? '') : `${officeLabel(official)}${seatLabel(official)}`;
}

const SALUTATION: Record<Official['office'], string> = {
  'us-house': 'Representative',
  'us-senate': 'Senator',
  'state-upper': 'Senator',
  'state-lower': 'Representative',
  governor: 'Governor',
  custom: '',
};

/** The title before a name in a salutation: "Dear Senator Doe". */
export function salutationTitle(official: Official): string {
  // A custom target's title as the campaign wrote it, up to any comma: "Council Member, District 3" → "Council Member".
  if (official.office === 'custom') return (official.title ?? '').split(',')[0]!.trim();
  if (official.state === 'DC' && official.office === 'state-upper') return 'Councilmember';
  if (official.office === 'us-house' && official.state === 'PR') return 'Commissioner';
  if (official.office === 'us-house' && ['DC', 'AS', 'GU', 'MP', 'VI'].includes(official.state)) return 'Delegate';
  const label = officeLabel(official);
  return label === 'Assembly Member' ? 'Assemblymember' : label === 'Delegate' ? 'Delegate' : SALUTATION[official.office];
}

/** The districts of a place, for people: "CO-1 · State Senate District 1 · State House District 1". */
export function placeLabel(districts: DistrictSet): string {
  const cd = districts.congressional;
  if (!cd) return '';
  const parts = [cd.delegate ? `${cd.state} (delegate seat)` : cd.atLarge ? `${cd.state} at-large` : `${cd.state}-${cd.district}`];
  if (districts.stateUpper) parts.push(districts.stateUpper.name);
  if (districts.stateLower) parts.push(districts.stateLower.name);
  return parts.join(' · ');
}

type Layer = 'cd' | 'sldu' | 'sldl';

export const chosenGeoids = (districts: DistrictSet): Partial<Record<Layer, string>> => ({
  cd: districts.congressional?.geoid,
  sldu: districts.stateUpper?.geoid,
  sldl: districts.stateLower?.geoid,
});

/**
 * For a ZIP that spans districts: one radio group (`cd`, `sldu`, `sldl`) per layer that has more
 * than one district, with the chosen one (or the ZIP's centre's) ticked.
 */
export function districtChoices(candidates: Array<DistrictSet & { default: boolean }>, chosen: Partial<Record<Layer, string | undefined>>) {
  const centre = candidates.find((candidate) => candidate.default) ?? candidates[0];
  const layers = [
    { key: 'congressional', name: 'cd', legend: 'Your congressional district' },
    { key: 'stateUpper', name: 'sldu', legend: 'Your state senate district' },
    { key: 'stateLower', name: 'sldl', legend: 'Your state house district' },
  ] as const;
  return layers
    .map(({ key, name, legend }) => {
      const seen = new Map<string, string>();
      for (const candidate of candidates) {
        const district = candidate[key];
        if (!district) continue;
        seen.set(district.geoid, key === 'congressional' ? placeLabel({ congressional: candidate.congressional, stateUpper: null, stateLower: null }) : district.name);
      }
      const wanted = chosen[name];
      const ticked = wanted && seen.has(wanted) ? wanted : centre?.[key]?.geoid;
      const options = [...seen].sort(([a], [b]) => a.localeCompare(b)).map(([value, label]) => ({ value, label, checked: value === ticked }));
      return { name, legend, options };
    })
    .filter((layer) => layer.options.length > 1);
}
