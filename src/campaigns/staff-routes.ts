import { Router, type NextFunction, type Request, type Response } from 'express';
import type { AppContext } from '../context';
import type { Campaign } from '../db/schema';
import type { createCsrf } from '../http/csrf';
import { MERGE_FIELDS, TARGET_LEVELS, type TargetLevel } from '../letters/templates';
import { fieldErrors, nothingImported, type FieldErrors } from '../kernel/field-errors';
import {
  customTargetListName,
  customTargetLists,
  importCustomTargets,
  MAX_CUSTOM_TARGETS_PER_LIST,
  type CustomTargetCsvError,
} from '../representatives/custom-targets';
import { escapeXml } from '../text-safety/characters';
import { recordAudit } from '../staff/audit';
import {
  campaignForm,
  campaignFormValues,
  createCampaign,
  deletePartner,
  deleteTargetList,
  isTargetLevel,
  listPartners,
  partnerForm,
  resetTemplate,
  savePartner,
  saveTemplate,
  setDeliveryMode,
  storedTemplates,
  TARGET_OFFICES,
  templateErrors,
  templateForm,
  updateCampaign,
} from './editor';
import { formErrors } from '../staff/forms';
import { MAX_CSV_BYTES, receiveCsv, uploadedText } from '../staff/csv-upload';
import {
  DEFAULT_LANGUAGE,
  isLanguage,
  LANGUAGE_NAMES,
  LANGUAGES,
  type Language,
} from '../i18n/translations';
import { can } from '../staff/roles';
import { campaignOf, loadStaffCampaign } from '../staff/campaign-param';
import { currentStaff, flash, requirePermission, type StaffUser } from '../staff/session';
import { previewTemplate, sampleZip } from './template-preview';

const LEVEL_LABELS: Record<TargetLevel, string> = {
  federal: 'Congress',
  state: 'State',
  local: 'Local',
};

/** Campaigns: the list, and for organizers and admins the editor (settings, templates, targets, partners). */
export function campaignRoutes(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();
  const edit = requirePermission('campaigns.edit');
  const loadCampaign = loadStaffCampaign(ctx);
  const staffOf = (res: Response) => currentStaff(res) as StaffUser;
  const changed = (campaign: Campaign) => {
    ctx.campaigns.forget(campaign.slug);
    ctx.letterTemplates.invalidate(campaign.id);
  };

  router.get('/staff', requirePermission('dashboard.view'), async (_req, res) => {
    const list = await ctx.campaigns.list();
    const rows = await Promise.all(
      list.map(async (campaign) => ({
        campaign,
        signatures: (await ctx.stats.get(campaign.id)).signatures,
      })),
    );
    res.render('staff/campaigns', {
      layout: 'staff',
      title: 'Campaigns',
      rows,
      canEdit: can(staffOf(res).role, 'campaigns.edit'),
    });
  });

  // --- Settings -----------------------------------------------------------------------------------

  const renderSettings = (
    res: Response,
    campaign: Campaign | undefined,
    values: Record<string, unknown>,
    errors: FieldErrors = {},
    status = 200,
  ) => {
    const offices = new Set(
      Array.isArray(values.targetOffices) ? values.targetOffices : [values.targetOffices],
    );
    res.status(status).render('staff/campaign-settings', {
      layout: 'staff',
      title: campaign ? `Settings · ${campaign.title}` : 'New campaign',
      campaign,
      values,
      offices: TARGET_OFFICES.map((target) => ({ ...target, checked: offices.has(target.office) })),
      retentionDays: ctx.config.retentionDaysAfterClose,
      live: campaign?.deliveryMode === 'live',
      canSwitchMode: can(staffOf(res).role, 'campaigns.deliveryMode'),
      ...formErrors(errors),
    });
  };

  router.get('/staff/campaigns/new', edit, (_req, res) =>
    renderSettings(res, undefined, {
      status: 'open',
      goal: 10_000,
      subjectMax: 150,
      bodyMax: 5000,
      targetOffices: TARGET_OFFICES.map((target) => target.office),
    }),
  );

  router.post('/staff/campaigns', edit, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const parsed = campaignForm.safeParse(body);
    if (!parsed.success)
      return renderSettings(res, undefined, body, fieldErrors(parsed.error), 400);
    const result = await createCampaign(ctx.db, parsed.data, staffOf(res));
    if (!result.ok) return renderSettings(res, undefined, body, result.errors, 400);
    flash(req, 'Campaign created. Next: its letter templates, targets and partners.');
    res.redirect(303, `/staff/campaigns/${result.campaign.slug}/edit`);
  });

  router.get('/staff/campaigns/:slug/edit', edit, loadCampaign, (_req, res) => {
    const campaign = campaignOf(res);
    renderSettings(res, campaign, campaignFormValues(campaign));
  });

  router.post('/staff/campaigns/:slug/edit', edit, loadCampaign, async (req, res) => {
    const campaign = campaignOf(res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const parsed = campaignForm.safeParse(body);
    if (!parsed.success) return renderSettings(res, campaign, body, fieldErrors(parsed.error), 400);
    const result = await updateCampaign(ctx.db, campaign, parsed.data, staffOf(res));
    if (!result.ok) return renderSettings(res, campaign, body, result.errors, 400);
    changed(campaign);
    flash(req, 'Campaign saved.');
    res.redirect(303, `/staff/campaigns/${result.campaign.slug}/edit`);
  });

  router.post(
    '/staff/campaigns/:slug/delivery-mode',
    requirePermission('campaigns.deliveryMode'),
    loadCampaign,
    async (req, res) => {
      const campaign = campaignOf(res);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const mode =
        body.mode === 'live' ? 'live' : body.mode === 'rehearsal' ? 'rehearsal' : undefined;
      if (!mode)
        return renderSettings(
          res,
          campaign,
          campaignFormValues(campaign),
          { form: 'Choose rehearsal or live.' },
          400,
        );
      if (mode === 'live' && body.confirm !== 'on') {
        return renderSettings(
          res,
          campaign,
          campaignFormValues(campaign),
          { confirm: 'Tick the box to confirm that letters may now go to real offices.' },
          400,
        );
      }
      const changed = await setDeliveryMode(ctx.db, campaign, mode, staffOf(res));
      ctx.campaigns.forget(campaign.slug);
      flash(
        req,
        !changed
          ? `The campaign was already ${mode}.`
          : mode === 'live'
            ? 'The campaign is live: letters now go to the offices.'
            : 'The campaign is rehearsing: no letter reaches an office.',
      );
      res.redirect(303, `/staff/campaigns/${campaign.slug}/edit`);
    },
  );

  // --- Letter templates -------------------------------------------------------------------------

  const renderTemplates = async (
    req: Request,
    res: Response,
    level: TargetLevel,
    draft?: { subject: string; body: string },
    errors: FieldErrors = {},
    status = 200,
  ) => {
    const campaign = campaignOf(res);
    const language = res.locals.templateLanguage as Language;
    const stored = await storedTemplates(ctx.db, campaign.id);
    const own = stored.find(
      (template) => template.level === level && template.language === language,
    );
    // What letters in this language use now: the campaign's own, its English one (a missing translation), or the project's.
    const english =
      language === DEFAULT_LANGUAGE
        ? undefined
        : stored.find(
            (template) => template.level === level && template.language === DEFAULT_LANGUAGE,
          );
    const template =
      draft ?? own ?? english ?? ctx.letterTemplates.filesByLanguage[language][level];
    const body = req.body as { zip?: unknown } | undefined;
    const given = typeof body?.zip === 'string' ? body.zip : req.query.zip;
    const zip =
      typeof given === 'string' && given.trim()
        ? given.trim()
        : await sampleZip(ctx, campaign, level);
    const preview =
      Object.keys(errors).length > 0
        ? { problem: 'Fix the template to see the preview.' }
        : await previewTemplate(ctx, campaign, level, template, zip, language);
    res.status(status).render('staff/campaign-templates', {
      layout: 'staff',
      title: `Letter templates · ${campaign.title}`,
      campaign,
      scripts: ['/static/js/template-preview.js'],
      levels: TARGET_LEVELS.map((each) => ({
        level: each,
        label: LEVEL_LABELS[each],
        current: each === level,
        custom: stored.some(
          (template) => template.level === each && template.language === language,
        ),
      })),
      languages: LANGUAGES.map((each) => ({
        language: each,
        name: LANGUAGE_NAMES[each],
        current: each === language,
        custom: stored.some((template) => template.level === level && template.language === each),
      })),
      language,
      languageName: LANGUAGE_NAMES[language],
      english: language === DEFAULT_LANGUAGE,
      usesEnglish: own === undefined && english !== undefined,
      level,
      levelLabel: LEVEL_LABELS[level],
      custom: own !== undefined,
      values: { ...template, zip },
      preview,
      mergeFields: MERGE_FIELDS.map((field) => `{{${field}}}`),
      conditionalExample: '{{#if supporter.note}} … {{/if}}',
      ...formErrors(errors),
    });
  };

  const levelParam = (req: Request, res: Response, next: NextFunction) => {
    const level = req.params.level ?? req.query.level ?? 'federal';
    if (!isTargetLevel(level))
      return res.status(404).render('error', {
        layout: 'staff',
        title: 'No such template',
        message: 'Templates are for Congress, state or local targets.',
      });
    const given =
      req.query.language ??
      (req.body as Record<string, unknown> | undefined)?.language ??
      DEFAULT_LANGUAGE;
    if (!isLanguage(given))
      return res.status(404).render('error', {
        layout: 'staff',
        title: 'No such template',
        message: 'Templates are in English or Spanish.',
      });
    res.locals.level = level;
    res.locals.templateLanguage = given;
    next();
  };
  const templatesPath = (campaign: Campaign, level: TargetLevel, language: Language) =>
    `/staff/campaigns/${campaign.slug}/templates?level=${level}${language === DEFAULT_LANGUAGE ? '' : `&language=${language}`}`;

  router.get('/staff/campaigns/:slug/templates', edit, loadCampaign, levelParam, (req, res) =>
    renderTemplates(req, res, res.locals.level as TargetLevel),
  );

  router.post(
    '/staff/campaigns/:slug/templates/:level',
    edit,
    loadCampaign,
    levelParam,
    async (req, res) => {
      const campaign = campaignOf(res);
      const level = res.locals.level as TargetLevel;
      const language = res.locals.templateLanguage as Language;
      const action = (req.body as Record<string, unknown>)?.action;
      if (action === 'reset') {
        await resetTemplate(ctx.db, campaign.id, level, staffOf(res), language);
        changed(campaign);
        flash(
          req,
          `The ${LEVEL_LABELS[level].toLowerCase()} template in ${LANGUAGE_NAMES[language]} is back to the ${language === DEFAULT_LANGUAGE ? "project's own" : "campaign's English one, or the project's"}.`,
        );
        return res.redirect(303, templatesPath(campaign, level, language));
      }
      const parsed = templateForm.safeParse(req.body ?? {});
      const body = (req.body ?? {}) as Record<string, string>;
      const draft = { subject: String(body.subject ?? ''), body: String(body.body ?? '') };
      if (!parsed.success)
        return renderTemplates(req, res, level, draft, fieldErrors(parsed.error), 400);
      const errors = templateErrors(parsed.data);
      if (Object.keys(errors).length > 0)
        return renderTemplates(req, res, level, parsed.data, errors, 400);
      if (action !== 'save') return renderTemplates(req, res, level, parsed.data);
      await saveTemplate(
        ctx.db,
        campaign.id,
        level,
        { subject: parsed.data.subject, body: parsed.data.body },
        staffOf(res),
        language,
      );
      changed(campaign);
      flash(
        req,
        `The ${LEVEL_LABELS[level].toLowerCase()} template${language === DEFAULT_LANGUAGE ? '' : ` in ${LANGUAGE_NAMES[language]}`} is saved; new letters use it within seconds.`,
      );
      res.redirect(
        303,
        `${templatesPath(campaign, level, language)}&zip=${encodeURIComponent(parsed.data.zip ?? '')}`,
      );
    },
  );

  /** The live preview: the page's script posts the form here as the template is edited. */
  router.post(
    '/staff/campaigns/:slug/templates/:level/preview',
    edit,
    loadCampaign,
    levelParam,
    async (req, res) => {
      const parsed = templateForm.safeParse(req.body ?? {});
      if (!parsed.success) return res.status(400).json({ errors: fieldErrors(parsed.error) });
      const errors = templateErrors(parsed.data);
      if (Object.keys(errors).length > 0) return res.status(400).json({ errors });
      res.json(
        await previewTemplate(
          ctx,
          campaignOf(res),
          res.locals.level as TargetLevel,
          parsed.data,
          parsed.data.zip ?? '',
          res.locals.templateLanguage as Language,
        ),
      );
    },
  );

  // --- Custom target lists ------------------------------------------------------------------------

  const renderTargets = async (
    res: Response,
    extra: {
      errors?: FieldErrors;
      rowErrors?: CustomTargetCsvError[];
      values?: Record<string, unknown>;
    } = {},
    status = 200,
  ) => {
    const campaign = campaignOf(res);
    res.status(status).render('staff/campaign-targets', {
      layout: 'staff',
      title: `Targets · ${campaign.title}`,
      campaign,
      lists: await customTargetLists(ctx.db, campaign.id),
      offices: TARGET_OFFICES.filter((target) => campaign.targetOffices.includes(target.office)),
      maxTargets: MAX_CUSTOM_TARGETS_PER_LIST,
      maxKb: MAX_CSV_BYTES / 1024,
      rowErrors: extra.rowErrors?.slice(0, 200),
      moreRowErrors: Math.max(0, (extra.rowErrors?.length ?? 0) - 200),
      values: extra.values ?? {},
      ...formErrors(extra.errors ?? {}),
    });
  };

  router.get('/staff/campaigns/:slug/targets', edit, loadCampaign, (_req, res) =>
    renderTargets(res),
  );

  const receiveTargetsCsv = receiveCsv(csrf, (res, message) =>
    renderTargets(res, { errors: { file: message } }, 400),
  );

  // A multipart form: the CSRF token is in the body, so it is checked once the body is read.
  router.post(
    '/staff/campaigns/:slug/targets',
    edit,
    loadCampaign,
    receiveTargetsCsv,
    csrf.protect,
    async (req, res) => {
      const campaign = campaignOf(res);
      const values = { list: (req.body as Record<string, unknown>)?.list };
      const list = customTargetListName.safeParse(values.list);
      if (!list.success)
        return renderTargets(res, { errors: { list: list.error.issues[0]!.message }, values }, 400);
      const file = req.file;
      if (!file || file.size === 0)
        return renderTargets(
          res,
          { errors: { file: 'Choose a CSV file to upload.' }, values },
          400,
        );
      const text = uploadedText(file);
      const result = await importCustomTargets(ctx.db, campaign.id, list.data, text);
      if (!result.ok) {
        return renderTargets(
          res,
          {
            errors: {
              file: nothingImported('the file', result.errors.length),
            },
            rowErrors: result.errors,
            values,
          },
          400,
        );
      }
      await recordAudit(ctx.db, staffOf(res), {
        action: 'targets.import',
        campaignId: campaign.id,
        details: { list: list.data, targets: result.imported },
      });
      ctx.representatives.forgetCustomTargets(campaign.id);
      flash(req, `Imported ${result.imported} targets into "${list.data}".`);
      res.redirect(303, `/staff/campaigns/${campaign.slug}/targets`);
    },
  );

  router.post('/staff/campaigns/:slug/targets/delete', edit, loadCampaign, async (req, res) => {
    const campaign = campaignOf(res);
    const parsed = customTargetListName.safeParse((req.body as Record<string, unknown>)?.list);
    if (!parsed.success)
      return renderTargets(res, { errors: { list: parsed.error.issues[0]!.message } }, 400);
    const list = parsed.data;
    const removed = await deleteTargetList(ctx.db, campaign.id, list, staffOf(res));
    ctx.representatives.forgetCustomTargets(campaign.id);
    flash(
      req,
      removed > 0
        ? `Removed the list "${list}" (${removed} targets).`
        : 'That list was already gone.',
    );
    res.redirect(303, `/staff/campaigns/${campaign.slug}/targets`);
  });

  // --- Partners -----------------------------------------------------------------------------------

  const renderPartners = async (
    res: Response,
    extra: { errors?: FieldErrors; values?: Record<string, unknown>; editing?: number } = {},
    status = 200,
  ) => {
    const campaign = campaignOf(res);
    const counts = await ctx.stats.get(campaign.id);
    const base = ctx.config.publicUrl;
    const partners = (await listPartners(ctx.db, campaign.id)).map((partner) => ({
      ...partner,
      originList: partner.origins.join('\n'),
      signatures: counts.bySource[partner.sourceCode] ?? 0,
      link: `${base}/campaigns/${campaign.slug}?source=${encodeURIComponent(partner.sourceCode)}`,
      snippet: embedSnippet(base, campaign, partner.sourceCode),
      editing: extra.editing === partner.id,
    }));
    res.status(status).render('staff/campaign-partners', {
      layout: 'staff',
      title: `Partners · ${campaign.title}`,
      campaign,
      partners,
      values: extra.values ?? {},
      ...formErrors(extra.errors ?? {}),
    });
  };

  router.get('/staff/campaigns/:slug/partners', edit, loadCampaign, (_req, res) =>
    renderPartners(res),
  );

  router.post('/staff/campaigns/:slug/partners', edit, loadCampaign, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const parsed = partnerForm.safeParse(body);
    if (!parsed.success)
      return renderPartners(res, { errors: fieldErrors(parsed.error), values: body }, 400);
    const result = await savePartner(
      ctx.db,
      campaignOf(res).id,
      undefined,
      parsed.data,
      staffOf(res),
    );
    if (!result.ok) return renderPartners(res, { errors: result.errors, values: body }, 400);
    await ctx.partnerOrigins.refresh();
    flash(req, `Added ${result.partner.name}.`);
    res.redirect(303, `/staff/campaigns/${campaignOf(res).slug}/partners`);
  });

  router.post('/staff/campaigns/:slug/partners/:id', edit, loadCampaign, async (req, res) => {
    const campaign = campaignOf(res);
    const id = Number(req.params.id);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!Number.isSafeInteger(id))
      return renderPartners(res, { errors: { form: 'There is no such partner.' } }, 400);
    if (body.action === 'delete') {
      const removed = await deletePartner(ctx.db, campaign.id, id, staffOf(res));
      await ctx.partnerOrigins.refresh();
      flash(
        req,
        removed
          ? 'Partner removed. Its signatures keep their source code.'
          : 'That partner was already gone.',
      );
      return res.redirect(303, `/staff/campaigns/${campaign.slug}/partners`);
    }
    const parsed = partnerForm.safeParse(body);
    if (!parsed.success)
      return renderPartners(res, { errors: fieldErrors(parsed.error), editing: id }, 400);
    const result = await savePartner(ctx.db, campaign.id, id, parsed.data, staffOf(res));
    if (!result.ok) return renderPartners(res, { errors: result.errors, editing: id }, 400);
    await ctx.partnerOrigins.refresh();
    flash(req, `Saved ${result.partner.name}.`);
    res.redirect(303, `/staff/campaigns/${campaign.slug}/partners`);
  });

  return router;
}

/** What a partner pastes into its page: a placeholder and our embed script, which draws the form. */
export function embedSnippet(
  publicUrl: string,
  campaign: Pick<Campaign, 'slug' | 'title'>,
  sourceCode: string,
): string {
  const page = `${publicUrl}/campaigns/${campaign.slug}?source=${sourceCode}`;
  const title = escapeXml(campaign.title);
  return [
    `<div data-petition="${campaign.slug}" data-source="${sourceCode}">`,
    `  <a href="${page}">Sign the petition: ${title}</a>`,
    `</div>`,
    `<script src="${publicUrl}/static/js/embed.js" data-platform="${publicUrl}" async></script>`,
  ].join('\n');
}
