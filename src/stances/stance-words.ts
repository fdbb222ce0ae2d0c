import type { OfficialStance } from '../db/schema';
import type { Translator } from '../i18n/translations';

/** An official's stance as the public pages show it: the stance, and why, with the source's link. */
export interface StanceWords {
  stance: OfficialStance['stance'];
  label: string;
  why: string;
  url?: string;
}

export function stanceWords(
  stance: OfficialStance | undefined,
  tr: Translator,
): StanceWords | undefined {
  if (!stance) return undefined;
  const text = stance.sourceText ?? tr.t(`stances:source.${stance.sourceKind}`);
  return {
    stance: stance.stance,
    label: tr.t(`stances:stance.${stance.stance}`),
    why: stance.statedOn
      ? tr.t('stances:whyDated', { text, date: tr.date(`${stance.statedOn}T00:00:00Z`) })
      : tr.t('stances:why', { text }),
    url: stance.sourceUrl ?? undefined,
  };
}
