import type { AppContext } from '../context';
import type { Campaign } from '../db/schema';
import { compileLetterTemplates, levelOf, type RenderedLetter, type TargetLevel } from '../letters/templates';
import type { Official } from '../representatives/districts';
import { officeDescription, salutationTitle } from '../representatives/labels';
import { lookupRepresentatives } from '../representatives/lookup';

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
): Promise<TemplatePreview> {
  let renderer;
  try {
    renderer = compileLetterTemplates({ federal: template, state: template, local: template });
  } catch (error) {
    return { problem: (error as Error).message.replace(/^The federal letter /, 'The ') };
  }
  const found = await lookupRepresentatives({ data: ctx.representatives.current }, { zip }, await ctx.representatives.customTargets(campaign.id));
  if (!found.ok) {
    return { problem: found.status === 400 ? 'Enter a 5-digit ZIP code for the sample supporter.' : found.message };
  }
  const { officials, districts } = found.result;
  // Someone the campaign's letters really go to, where it has such a target at this level.
  const offices = PREVIEW_OFFICES[level].sort((a, b) => Number(!campaign.targetOffices.includes(a)) - Number(!campaign.targetOffices.includes(b)));
  const official =
    offices.flatMap((office) => officials.filter((candidate) => candidate.office === office && !candidate.vacant))[0] ??
    (level === 'local' ? SAMPLE_LOCAL : undefined);
  const state = districts.congressional?.state;
  if (!official) return { problem: `There is no ${level} representative for ZIP ${zip} in the data. Try another ZIP code.` };
  const letter = renderer.render(levelOf(official.office), {
    supporter: { name: 'Jordan Sample', city: 'Sampleton', state, zip, note: 'I have lived here for twelve years and I do not want to be tracked.' },
    target: { title: salutationTitle(official), name: official.name ?? '', office: officeDescription(official), district: official.district ?? undefined },
    campaign: { title: campaign.title },
  });
  return { letter, target: `${salutationTitle(official)} ${official.name ?? ''}`.trim(), place: `ZIP ${zip}${state ? `, ${state}` : ''}` };
}

/** A ZIP code the preview can start with: one in the data, so staff see a real representative at once. */
export function sampleZip(ctx: Pick<AppContext, 'representatives'>): string {
  return ctx.representatives.current?.anyZip() ?? '';
}
