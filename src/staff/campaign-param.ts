import type { RequestHandler, Response } from 'express';
import type { AppContext } from '../context';
import { campaignBySlug, isCampaignSlug } from '../campaigns/directory';
import type { Campaign } from '../db/schema';

/**
 * Loads the campaign named by the route's `:slug` onto `res.locals`, fresh from the database (not
 * the public pages' cache), or answers the staff console's 404 page.
 */
export function loadStaffCampaign(ctx: Pick<AppContext, 'db'>): RequestHandler {
  return async (req, res, next) => {
    const slug = String(req.params.slug);
    const campaign = isCampaignSlug(slug) ? await campaignBySlug(ctx.db, slug) : undefined;
    if (!campaign)
      return res.status(404).render('error', {
        layout: 'staff',
        title: 'No such campaign',
        message: 'There is no campaign at this address.',
      });
    res.locals.campaign = campaign;
    next();
  };
}

/** The campaign `loadStaffCampaign` found. */
export const campaignOf = (res: Response) => res.locals.campaign as Campaign;
