import type { Response } from 'express';
import { protectForm } from '../abuse/controls';
import type { AppContext } from '../context';
import type { Campaign } from '../db/schema';
import type { FieldErrors } from '../petitions/signature-input';
import { publicSignatureCount } from '../petitions/stats';
import { consentChoices, partnerBySource } from '../privacy/consent';

export interface SigningForm {
  values: Record<string, unknown>;
  errors: FieldErrors;
  csrfToken: string;
  source: string | undefined;
}

export function progress(count: number, goal: number) {
  return { count, goal, percent: goal > 0 ? Math.min(100, Math.floor((count / goal) * 100)) : 0 };
}

/** The campaign page: used for a first view and to return the form with its errors. */
export async function renderCampaignPage(
  ctx: AppContext,
  res: Response,
  campaign: Campaign,
  form: SigningForm,
  status = 200,
): Promise<void> {
  const [counts, partner] = await Promise.all([ctx.stats.get(campaign.id), partnerBySource(ctx.db, campaign.id, form.source)]);
  const errorList = Object.entries(form.errors).map(([field, message]) => ({ field, message }));
  res.status(status).render('campaign', {
    title: campaign.title,
    description: campaign.summary,
    campaign,
    paragraphs: campaign.petitionText.split(/\n\s*\n/),
    progress: progress(publicSignatureCount(campaign, counts), campaign.goal),
    // The consent boxes' words, exactly as a signature records them.
    consent: consentChoices(partner),
    statsUrl: `/api/v1/campaigns/${encodeURIComponent(campaign.slug)}/stats`,
    closed: campaign.status !== 'open',
    // The fill-time token and, when on, the CAPTCHA widget (which widens this page's CSP).
    form: { ...form, errorList, hasErrors: errorList.length > 0, ...protectForm(ctx, res, 'sign', form.values.formToken, { captcha: campaign.status === 'open' }) },
  });
}
