import type { Campaign, CampaignTexts } from '../db/schema';
import { DEFAULT_LANGUAGE, type Language } from '../i18n/translations';

/**
 * A campaign's supporter-facing texts in one language: staff give them per language in the
 * console; a text not given in that language is the English one, marked with `lang` (its `…Lang`
 * field, set only then) so that screen readers read it as English.
 */
export interface LocalizedCampaign {
  title: string;
  summary: string;
  petitionText: string;
  titleLang?: Language;
  summaryLang?: Language;
  petitionTextLang?: Language;
}

export function campaignTexts(
  campaign: Pick<Campaign, 'title' | 'summary' | 'petitionText' | 'translations'>,
  language: Language,
): LocalizedCampaign {
  const given: CampaignTexts =
    language === DEFAULT_LANGUAGE
      ? {}
      : (campaign.translations?.[language as Exclude<Language, 'en'>] ?? {});
  const pick = (field: keyof CampaignTexts) => {
    const text = given[field]?.trim();
    return text
      ? { text }
      : {
          text: campaign[field],
          lang: language === DEFAULT_LANGUAGE ? undefined : DEFAULT_LANGUAGE,
        };
  };
  const title = pick('title');
  const summary = pick('summary');
  const petitionText = pick('petitionText');
  return {
    title: title.text,
    summary: summary.text,
    petitionText: petitionText.text,
    ...(title.lang ? { titleLang: title.lang } : {}),
    ...(summary.lang ? { summaryLang: summary.lang } : {}),
    ...(petitionText.lang ? { petitionTextLang: petitionText.lang } : {}),
  };
}

/** The campaign's title in a language (English when not given in it): for emails, letters and page titles. */
export const campaignTitle = (
  campaign: Pick<Campaign, 'title' | 'translations'>,
  language: Language,
): string =>
  (language === DEFAULT_LANGUAGE
    ? undefined
    : campaign.translations?.[language as Exclude<Language, 'en'>]?.title?.trim()) ||
  campaign.title;
