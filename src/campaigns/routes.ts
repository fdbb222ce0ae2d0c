import { Router } from 'express';
import type { AppContext } from '../context';
import { sourceFromQuery } from '../petitions/signature-input';
import { publicSignatureCount } from '../petitions/stats';
import type { createCsrf } from '../http/csrf';
import { progress, renderCampaignPage } from './page';

/** Public pages: the campaign list, a campaign with its signing form, and the thank-you page. */
export function campaignPages(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();

  router.get('/', async (_req, res) => {
    const campaigns = await ctx.campaigns.list();
    const cards = await Promise.all(
      campaigns.map(async (campaign) => ({
        campaign,
        progress: progress(publicSignatureCount(campaign, await ctx.stats.get(campaign.id)), campaign.goal),
        closed: campaign.status !== 'open',
      })),
    );
    res.render('home', { title: 'Campaigns', cards });
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
    const counts = await ctx.stats.get(campaign.id);
    const url = `${ctx.config.publicUrl}/campaigns/${encodeURIComponent(campaign.slug)}`;
    const message = `I signed: ${campaign.title}. Add your name:`;
    const text = encodeURIComponent(`${message} ${url}`);
    res.render('thanks', {
      title: `Thank you — ${campaign.title}`,
      campaign,
      url,
      progress: progress(publicSignatureCount(campaign, counts), campaign.goal),
      // Everyone gets this page after signing (a repeat and a bot too): it asks all of them to check their inbox.
      checkEmail: campaign.requireVerification,
      statsUrl: `/api/v1/campaigns/${encodeURIComponent(campaign.slug)}/stats`,
      share: [
        { label: 'Email a friend', href: `mailto:?subject=${encodeURIComponent(campaign.title)}&body=${text}` },
        { label: 'Bluesky', href: `https://bsky.app/intent/compose?text=${text}` },
        { label: 'Mastodon', href: `https://mastodonshare.com/?text=${text}` },
        { label: 'X', href: `https://x.com/intent/post?text=${text}` },
        { label: 'Facebook', href: `https://www.facebook.com/sharer/sharer.php?u=${encodeURIComponent(url)}` },
        { label: 'WhatsApp', href: `https://wa.me/?text=${text}` },
      ],
    });
  });

  return router;
}
