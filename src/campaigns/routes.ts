import { Router } from 'express';
import type { AppContext } from '../context';
import { translatorOf } from '../http/i18n';
import { sourceFromQuery } from '../petitions/signature-input';
import { publicSignatureCount } from '../petitions/stats';
import type { createCsrf } from '../http/csrf';
import { progress, renderCampaignPage } from './page';
import { campaignTexts } from './texts';

/** Public pages: the campaign list, a campaign with its signing form, and the thank-you page. */
export function campaignPages(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();

  router.get('/', async (_req, res) => {
    const { t, language } = translatorOf(res);
    const campaigns = await ctx.campaigns.list();
    const cards = await Promise.all(
      campaigns.map(async (campaign) => ({
        campaign,
        texts: campaignTexts(campaign, language),
        progress: progress(
          publicSignatureCount(campaign, await ctx.stats.get(campaign.id)),
          campaign.goal,
        ),
        closed: campaign.status !== 'open',
      })),
    );
    res.render('home', { title: t('petition:home.title'), cards });
  });

  router.get('/campaigns/:slug', async (req, res, next) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return next();
    await renderCampaignPage(ctx, res, campaign, {
      values: {},
      errors: {},
      csrfToken: csrf.token(req, res),
      source: sourceFromQuery(req.query.source),
    });
  });

  router.get('/campaigns/:slug/thanks', async (req, res, next) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return next();
    const { t, language } = translatorOf(res);
    const texts = campaignTexts(campaign, language);
    const counts = await ctx.stats.get(campaign.id);
    const url = `${ctx.config.publicUrl}/campaigns/${encodeURIComponent(campaign.slug)}`;
    const shared = language === 'en' ? url : `${url}?lng=${language}`;
    const text = encodeURIComponent(
      `${t('petition:thanks.shareMessage', { title: texts.title })} ${shared}`,
    );
    const count = publicSignatureCount(campaign, counts);
    res.render('thanks', {
      title: t('petition:thanks.pageTitle', { title: texts.title }),
      campaign,
      texts,
      url: shared,
      progress: progress(count, campaign.goal),
      // Signatures are counted by a worker within seconds: a count that cannot include this one yet is not shown as "0"
      // (the page's script shows it once it has counted one).
      countPending: count === 0,
      // Everyone gets this page after signing (a repeat and a bot too): it asks all of them to check their inbox.
      checkEmail: campaign.requireVerification,
      statsUrl: `/api/v1/campaigns/${encodeURIComponent(campaign.slug)}/stats${language === 'en' ? '' : `?lng=${language}`}`,
      share: [
        {
          label: t('petition:thanks.shareEmail'),
          href: `mailto:?subject=${encodeURIComponent(texts.title)}&body=${text}`,
        },
        { label: 'Bluesky', href: `https://bsky.app/intent/compose?text=${text}` },
        { label: 'Mastodon', href: `https://mastodonshare.com/?text=${text}` },
        { label: 'X', href: `https://x.com/intent/post?text=${text}` },
        {
          label: 'Facebook',
          href: `https://www.facebook.com/sharer/sharer.php?u=${encodeURIComponent(shared)}`,
        },
        { label: 'WhatsApp', href: `https://wa.me/?text=${text}` },
      ],
    });
  });

  return router;
}
