import type { AppContext } from '../context';
import type { Campaign } from '../db/schema';
import {
  compileLetterTemplates,
  levelOf,
  type RenderedLetter,
  type TargetLevel,
} from '../letters/templates';
import type { Official } from '../representatives/districts';
import { officeDescription, salutationTitle } from '../representatives/labels';
import { lookupRepresentatives } from '../representatives/lookup';
import { campaignTitle } from './texts';
import { DEFAULT_LANGUAGE, translator, type Language } from '../i18n/translations';

/** Which office stands for each level in a preview, in order of preference. */
const PREVIEW_OFFICES: Record<TargetLevel, Array<Official['office']>> = {
  federal: ['us-house', 'us-senate'],
  state: ['state-lower', 'state-upper', 'governor'],
  local: ['custom'],
};

/** When the campaign has no local targets for the sample place, the preview addresses this one. */
const SAMPLE_LOCAL: Official = {
  office: 'custom',
  name: 'Sam Rivera',
  title: 'Council Member',
  party: null,
  state: '',
  district: null,
  vacant: false,
  ids: {},
  channels: [],
  source: null,
};

export interface TemplatePreview {
  letter?: RenderedLetter;
  /** Whom the preview is addressed to, and for which sample place. */
  target?: string;
  place?: string;
  /** Why there is no preview (no data for the ZIP, a template that does not compile). */
  problem?: string;
}

/**
 * Renders a template for a sample supporter in `zip` and one of their real representatives at the
 * template's level, exactly as a letter would be rendered.
 */
export async function previewTemplate(
  ctx: Pick<AppContext, 'representatives'>,
  campaign: Campaign,
  level: TargetLevel,
  template: { subject: string; body: string },
  zip: string,
  /** The template's language: titles, offices and the campaign's title are merged in it. */
  language: Language = DEFAULT_LANGUAGE,
): Promise<TemplatePreview> {
  const inLetter = translator(language);
  let renderer;
  try {
    renderer = compileLetterTemplates({ federal: template, state: template, local: template });
  } catch (error) {
    return { problem: (error as Error).message.replace(/^The federal letter /, 'The ') };
  }
  const found = await lookupRepresentatives(
    { data: ctx.representatives.current },
    { zip },
    await ctx.representatives.customTargets(campaign.id),
  );
  if (!found.ok) {
    return {
      problem:
        found.status === 400 ? 'Enter a 5-digit ZIP code for the sample supporter.' : found.message,
    };
  }
  const { officials, districts } = found.result;
  const official = previewOfficial(campaign, level, officials);
  const state = districts.congressional?.state;
  if (!official)
    return {
      problem: `There is no ${level} representative for ZIP ${zip} in the data. Try another ZIP code.`,
    };
  const letter = renderer.render(levelOf(official.office), {
    supporter: {
      name: 'Jordan Sample',
      city: 'Sampleton',
      state,
      zip,
      note: 'I have lived here for twelve years and I do not want to be tracked.',
    },
    target: {
      title: salutationTitle(official, inLetter),
      name: official.name ?? '',
      office: officeDescription(official, inLetter),
      district: official.district ?? undefined,
    },
    campaign: { title: campaignTitle(campaign, language) },
  });
  return {
    letter,
    target: `${salutationTitle(official)} ${official.name ?? ''}`.trim(),
    place: `ZIP ${zip}${state ? `, ${state}` : ''}`,
  };
}

/** ZIP codes tried for a first preview before giving up on finding a representative at the level. */
const SAMPLE_ZIPS_TRIED = 200;

/**
 * A ZIP code the preview can start with: one where the data has a representative at the level
 * (an office the campaign writes to, if any), so staff see a real letter at once.
 */
export async function sampleZip(
  ctx: Pick<AppContext, 'representatives'>,
  campaign: Campaign,
  level: TargetLevel,
): Promise<string> {
  const data = ctx.representatives.current;
  if (!data) return '';
  const targets = await ctx.representatives.customTargets(campaign.id);
  let first = '';
  let tried = 0;
  for (const zip of data.zipCodes()) {
    if (tried++ >= SAMPLE_ZIPS_TRIED) break;
    first ||= zip;
    const found = await lookupRepresentatives({ data }, { zip }, targets);
    if (found.ok && previewOfficial(campaign, level, found.result.officials, false)) return zip;
  }
  return first;
}

/** Whom a preview at `level` is addressed to: someone the campaign's letters really go to, where possible. */
function previewOfficial(
  campaign: Campaign,
  level: TargetLevel,
  officials: Official[],
  sampleLocal = true,
): Official | undefined {
  const offices = [...PREVIEW_OFFICES[level]].sort(
    (a, b) =>
      Number(!campaign.targetOffices.includes(a)) - Number(!campaign.targetOffices.includes(b)),
  );
  return (
    offices.flatMap((office) =>
      officials.filter((candidate) => candidate.office === office && !candidate.vacant),
    )[0] ?? (level === 'local' && sampleLocal ? SAMPLE_LOCAL : undefined)
  );
}
