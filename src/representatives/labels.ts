import { english, type Translator } from '../i18n/translations';
import type { DistrictSet, Official, RepresentativeData, StateDistrict } from './districts';
import { uspsByFips } from './us-states';

/**
 * How offices are named to people: on the lookup page, and in letters' address blocks and
 * salutations. In English as the offices call themselves; in another language (a supporter's
 * page, a letter written in it) from `locales/<lng>/representatives.json`, naming the seat
 * rather than its holder where the language would otherwise have to guess their gender.
 */

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

/** The kind of seat, for the translation keys: the office, or the title some seats have of their own. */
type SeatKind =
  | Official['office']
  | 'dc-council'
  | 'assembly'
  | 'house-of-delegates'
  | 'resident-commissioner'
  | 'house-delegate';

function seatKind(official: Official): SeatKind {
  if (official.state === 'DC' && official.office === 'state-upper') return 'dc-council';
  if (official.office === 'state-lower' && ASSEMBLY_STATES.has(official.state)) return 'assembly';
  if (official.office === 'state-lower' && DELEGATE_STATES.has(official.state))
    return 'house-of-delegates';
  if (official.office === 'us-house' && official.state === 'PR') return 'resident-commissioner';
  if (official.office === 'us-house' && ['DC', 'AS', 'GU', 'MP', 'VI'].includes(official.state))
    return 'house-delegate';
  return official.office;
}

const ENGLISH_LABEL: Record<SeatKind, string> = {
  ...OFFICE_LABEL,
  'dc-council': 'D.C. Council member',
  assembly: 'Assembly Member',
  'house-of-delegates': 'Delegate',
  'resident-commissioner': 'Resident Commissioner',
  'house-delegate': 'Delegate to the U.S. House',
};

/** Some offices have their own titles: DC's council and delegate, Assembly members, Delegates. */
export function officeLabel(official: Official): string {
  return ENGLISH_LABEL[seatKind(official)];
}

function seatLabel(official: Official): string {
  if (official.state === 'DC' && official.office !== 'state-upper') return '';
  if (official.state === 'DC')
    return official.district === 'Chairman' ? ' (Chairman)' : ` (${official.district})`;
  if (official.office === 'us-senate' || official.office === 'governor')
    return `, ${official.state}`;
  if (official.office === 'us-house')
    return official.district === '0'
      ? `, ${official.state} at-large`
      : `, ${official.state}-${official.district}`;
  return `, ${official.state} district ${official.district}`;
}

/**
 * The office in full: "U.S. Senator, CO", "State Representative, CO district 3", or a custom
 * target's own title; in another language, the seat: "Senado de EE. UU., CO".
 */
export function officeDescription(official: Official, tr: Translator = english()): string {
  if (official.office === 'custom') return official.title ?? '';
  if (tr.language === 'en') return `${officeLabel(official)}${seatLabel(official)}`;
  const kind = seatKind(official);
  const district = official.district ?? '';
  if (kind === 'dc-council') return tr.t('representatives:seat.dc-council', { seat: district });
  if (kind === 'us-house') {
    return district === '0'
      ? tr.t('representatives:seat.us-house-at-large', { state: official.state })
      : tr.t('representatives:seat.us-house', { state: official.state, district });
  }
  return tr.t(`representatives:seat.${kind}`, { state: official.state, district });
}

const SALUTATION: Record<Official['office'], string> = {
  'us-house': 'Representative',
  'us-senate': 'Senator',
  'state-upper': 'Senator',
  'state-lower': 'Representative',
  governor: 'Governor',
  custom: '',
};

/** The title before a name in a salutation: "Dear Senator Doe"; in Spanish, a form that names no gender ("Senador/a"). */
export function salutationTitle(official: Official, tr: Translator = english()): string {
  // A custom target's title as the campaign wrote it, up to any comma: "Council Member, District 3" → "Council Member".
  if (official.office === 'custom') return (official.title ?? '').split(',')[0]!.trim();
  if (tr.language !== 'en') return tr.t(`representatives:title.${seatKind(official)}`);
  if (official.state === 'DC' && official.office === 'state-upper') return 'Councilmember';
  if (official.office === 'us-house' && official.state === 'PR') return 'Commissioner';
  if (official.office === 'us-house' && ['DC', 'AS', 'GU', 'MP', 'VI'].includes(official.state))
    return 'Delegate';
  const label = officeLabel(official);
  return label === 'Assembly Member'
    ? 'Assemblymember'
    : label === 'Delegate'
      ? 'Delegate'
      : SALUTATION[official.office];
}

/** A state district's name: as the Census writes it in English, else from the legislature's seat names. */
const stateDistrictName = (district: StateDistrict, layer: 'upper' | 'lower', tr: Translator) =>
  tr.language === 'en'
    ? district.name
    : tr.t(`representatives:district.${layer}`, {
        seats: district.seats.length > 0 ? district.seats.join(', ') : district.name,
      });

/** A congressional district for people: "CO-1", "WY at-large", "DC (delegate seat)". */
function congressionalLabel(cd: NonNullable<DistrictSet['congressional']>, tr: Translator): string {
  if (cd.delegate) return tr.t('representatives:district.delegate', { state: cd.state });
  if (cd.atLarge) return tr.t('representatives:district.atLarge', { state: cd.state });
  return `${cd.state}-${cd.district}`;
}

/** The districts of a place, for people: "CO-1 · State Senate District 1 · State House District 1". */
export function placeLabel(districts: DistrictSet, tr: Translator = english()): string {
  const cd = districts.congressional;
  if (!cd) return '';
  const parts = [congressionalLabel(cd, tr)];
  if (districts.stateUpper) parts.push(stateDistrictName(districts.stateUpper, 'upper', tr));
  if (districts.stateLower) parts.push(stateDistrictName(districts.stateLower, 'lower', tr));
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
export function districtChoices(
  candidates: Array<DistrictSet & { default: boolean }>,
  chosen: Partial<Record<Layer, string | undefined>>,
  tr: Translator = english(),
) {
  const centre = candidates.find((candidate) => candidate.default) ?? candidates[0];
  const layers = [
    { key: 'congressional', name: 'cd' },
    { key: 'stateUpper', name: 'sldu' },
    { key: 'stateLower', name: 'sldl' },
  ] as const;
  return layers
    .map(({ key, name }) => {
      const seen = new Map<string, string>();
      for (const candidate of candidates) {
        if (key === 'congressional') {
          if (candidate.congressional)
            seen.set(
              candidate.congressional.geoid,
              congressionalLabel(candidate.congressional, tr),
            );
        } else {
          const district = candidate[key];
          if (district)
            seen.set(
              district.geoid,
              stateDistrictName(district, key === 'stateUpper' ? 'upper' : 'lower', tr),
            );
        }
      }
      const wanted = chosen[name];
      const ticked = wanted && seen.has(wanted) ? wanted : centre?.[key]?.geoid;
      const options = [...seen]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([value, label]) => ({ value, label, checked: value === ticked }));
      return { name, legend: tr.t(`representatives:choice.${name}`), options };
    })
    .filter((layer) => layer.options.length > 1);
}

/**
 * The office of a letter already written, in a language: the title it was written with (English,
 * as staff read it) in English and for a campaign's own targets, else the seat in that language.
 */
export function describeOffice(
  letter: {
    office: string;
    targetTitle: string;
    targetState: string | null;
    targetDistrict: string | null;
  },
  tr: Translator = english(),
): string {
  if (
    tr.language === 'en' ||
    letter.office === 'custom' ||
    !letter.targetState ||
    !(letter.office in OFFICE_LABEL)
  )
    return letter.targetTitle;
  return officeDescription(
    {
      office: letter.office as Official['office'],
      state: letter.targetState,
      district: letter.targetDistrict,
      name: null,
      party: null,
      vacant: false,
      ids: {},
      channels: [],
      source: null,
    },
    tr,
  );
}

/** A congressional district as people name it: "CO-1", "AK at-large", "DC (delegate seat)". */
export function districtLabel(geoid: string): string {
  const state = uspsByFips.get(geoid.slice(0, 2));
  const code = geoid.slice(2);
  if (!state || !/^\d{2}$/.test(code)) return geoid;
  if (code === '98') return `${state} (delegate seat)`;
  if (code === '00') return `${state} at-large`;
  return `${state}-${Number(code)}`;
}

export function houseMember(
  data: RepresentativeData | null,
  geoid: string,
): { member: string | null; vacant: boolean } {
  if (!data?.hasDistrict('cd', geoid)) return { member: null, vacant: false };
  const seat = data
    .officialsFor({ cd: geoid, sldu: null, sldl: null })
    .find((official) => official.office === 'us-house');
  return { member: seat?.name ?? null, vacant: seat?.vacant ?? false };
}
