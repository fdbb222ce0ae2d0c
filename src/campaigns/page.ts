import type { Response } from 'express';
import { protectForm } from '../abuse/controls';
import type { AppContext } from '../context';
import type { Campaign } from '../db/schema';
import { translatorOf } from '../http/i18n';
import type { FieldErrors } from '../kernel/field-errors';
import { publicSignatureCount } from '../petitions/stats';
import { consentChoices } from '../privacy/consent';
import { campaignTexts } from './texts';

export interface SigningForm {
  values: Record<string, unknown>;
  errors: FieldErrors;
  csrfToken: string;
  source: string | undefined;
  /**
   * The form came back for a person to confirm it, with nothing wrong in it (sent too fast after
   * the page loaded, as autofill and one click do): it is shown again with its values and one button.
   */
  confirm?: 'csrf' | 'too-fast';
}

export function progress(count: number, goal: number) {
  return { count, goal, percent: goal > 0 ? Math.min(100, Math.floor((count / goal) * 100)) : 0 };
}

/** The error summary's entries: each message with the field it is about (`form` for the whole form). */
export const errorList = (errors: FieldErrors) =>
  Object.entries(errors).map(([field, message]) => ({
    field,
    message,
    anchor: field === 'form' ? undefined : `field-${field}`,
  }));

/** The campaign page: used for a first view and to return the form with its errors. */
export async function renderCampaignPage(
  ctx: AppContext,
  res: Response,
  campaign: Campaign,
  form: SigningForm,
  status = 200,
): Promise<void> {
  const tr = translatorOf(res);
  const texts = campaignTexts(campaign, tr.language);
  const [counts, partner] = await Promise.all([
    ctx.stats.get(campaign.id),
    ctx.partnerSources.bySource(campaign.id, form.source),
  ]);
  const list = errorList(form.errors);
  res.status(status).render('campaign', {
    title: texts.title,
    pageTitlePrefix:
      list.length > 0
        ? tr.t('common:errorTitlePrefix')
        : form.confirm
          ? tr.t('common:confirmTitlePrefix')
          : undefined,
    description: texts.summary,
    campaign,
    texts,
    paragraphs: texts.petitionText.split(/\n\s*\n/),
    progress: progress(publicSignatureCount(campaign, counts), campaign.goal),
    // The consent boxes' words, exactly as a signature records them.
    consent: consentChoices(partner, tr.t),
    statsUrl: `/api/v1/campaigns/${encodeURIComponent(campaign.slug)}/stats${tr.language === 'en' ? '' : `?lng=${tr.language}`}`,
    closed: campaign.status !== 'open',
    // The fill-time token and, when on, the CAPTCHA widget (which widens this page's CSP).
    form: {
      ...form,
      errorList: list,
      hasErrors: list.length > 0,
      ...protectForm(ctx, res, 'sign', form.values.formToken, {
        captcha: campaign.status === 'open',
      }),
    },
  });
}
