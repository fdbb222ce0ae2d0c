import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context';
import type { createCsrf } from '../http/csrf';
import { STANCES, type Campaign, type ScriptStance } from '../db/schema';
import {
  DEFAULT_LANGUAGE,
  isLanguage,
  LANGUAGE_NAMES,
  LANGUAGES,
  type Language,
} from '../i18n/translations';
import {
  MERGE_FIELDS,
  TARGET_LEVELS,
  validateLetterTemplate,
  type TargetLevel,
} from '../letters/templates';
import { fieldErrors, nothingImported, type FieldErrors } from '../kernel/field-errors';
import { peopleByKey } from '../representatives/people';
import { officeDescription } from '../representatives/labels';
import { personAsOfficial } from '../representatives/people';
import { english } from '../i18n/translations';
import { campaignOf, loadStaffCampaign } from '../staff/campaign-param';
import { isTargetLevel, storedTemplates, templateErrors, templateForm } from '../campaigns/editor';
import { formErrors } from '../staff/forms';
import { MAX_CSV_BYTES, receiveCsv, uploadedText } from '../staff/csv-upload';
import { recordAudit } from '../staff/audit';
import { csvCell } from '../text-safety/csv';
import { staffText } from '../text-safety/fields';
import { officeCounts } from './office-counts';
import { currentStaff, flash, requirePermission, type StaffUser } from '../staff/session';
import { previewTemplate, sampleZip } from '../campaigns/template-preview';
import { loadProjectScripts, SCRIPT_STANCES, scriptFor, type ProjectScripts } from './call-scripts';
import { BILL_STATUSES, PLACE_KINDS, SOURCE_KINDS } from './stance-input';
import {
  billForm,
  clearStance,
  deleteBill,
  deletePlace,
  importStances,
  listBills,
  listPlaces,
  listStances,
  placeForm,
  saveBill,
  savePlace,
  saveStance,
  stanceForm,
  resetStanceText,
  saveStanceText,
  stanceTemplates,
  storedCallScripts,
  STANCE_CSV_COLUMNS,
  type CsvRowError,
  type StanceTextKind,
} from './store';

const LEVEL_LABELS: Record<TargetLevel, string> = {
  federal: 'Congress',
  state: 'State',
  local: 'Local',
};
const STANCE_LABELS: Record<ScriptStance, string> = {
  any: 'Any stance',
  champion: 'Champions',
  supports: 'Supporters',
  undecided: 'Undecided',
  opposes: 'Opponents',
};

const scriptForm = z.object({
  body: staffText('the call script', 10_000, 'Write a call script.'),
  zip: z
    .string()
    .trim()
    .regex(/^(\d{5})?$/, 'Enter a 5-digit ZIP code.')
    .optional(),
});

const pastedCsv = z
  .string()
  .trim()
  .max(1_000_000, 'The CSV text is longer than 1,000,000 characters: split it in parts.');

/**
 * The console's pages for where the ban stands (organizers and admins): officials' stances, by
 * hand or from CSV (a file, or pasted text), bills and their sponsors, places with bans, and the letter templates and
 * call scripts per stance. Every change is audited by the store.
 */
export function stanceConsole(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();
  const edit = requirePermission('campaigns.edit');
  const loadCampaign = loadStaffCampaign(ctx);
  const staffOf = (res: Response) => currentStaff(res) as StaffUser;
  const body = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
  let projectScripts: ProjectScripts | undefined;
  const scripts = () => (projectScripts ??= loadProjectScripts());

  // --- Stances, bills and places --------------------------------------------------------------

  const renderStances = async (
    res: Response,
    extra: {
      errors?: FieldErrors;
      values?: Record<string, unknown>;
      form?: 'stance' | 'csv' | 'bill' | 'place';
      rowErrors?: CsvRowError[];
    } = {},
    status = 200,
  ) => {
    const campaign = campaignOf(res);
    const [stances, bills, places] = await Promise.all([
      listStances(ctx.db, campaign.id),
      listBills(ctx.db, campaign.id),
      listPlaces(ctx.db, campaign.id),
    ]);
    const people = await peopleByKey(ctx.db, campaign.id, [
      ...stances.map((stance) => stance.personKey),
      ...bills.flatMap((bill) => bill.sponsors),
    ]);
    const describe = (key: string) => {
      const person = people.get(key);
      return person
        ? `${person.name} (${officeDescription(personAsOfficial(person), english())})`
        : `${key} (no longer in the data)`;
    };
    const form = extra.form;
    const errors = extra.errors ?? {};
    res.status(status).render('staff/stances', {
      layout: 'staff',
      title: `Stances · ${campaign.title}`,
      campaign,
      stances: stances.map((stance) => ({
        ...stance,
        official: describe(stance.personKey),
        bill: bills.find((bill) => bill.id === stance.billId),
      })),
      bills: bills.map((bill) => ({
        ...bill,
        sponsorNames: bill.sponsors.map(describe),
        sponsorList: bill.sponsors.join(' '),
      })),
      places,
      stanceOptions: STANCES,
      sourceKinds: SOURCE_KINDS,
      billStatuses: BILL_STATUSES,
      placeKinds: PLACE_KINDS,
      csvColumns: STANCE_CSV_COLUMNS.join(','),
      maxCsvKb: MAX_CSV_BYTES / 1024,
      values: { [form ?? 'none']: extra.values ?? {} },
      errorsOf: { [form ?? 'none']: errors },
      errorForm: form,
      rowErrors: extra.rowErrors?.slice(0, 200),
      moreRowErrors: Math.max(0, (extra.rowErrors?.length ?? 0) - 200),
      ...formErrors(errors),
    });
  };
  const back = (req: Request, res: Response, message: string, anchor: string) => {
    flash(req, message);
    res.redirect(303, `/staff/campaigns/${campaignOf(res).slug}/stances#${anchor}`);
  };

  router.get('/staff/campaigns/:slug/stances', edit, loadCampaign, (_req, res) =>
    renderStances(res),
  );

  router.post('/staff/campaigns/:slug/stances', edit, loadCampaign, async (req, res) => {
    const values = body(req);
    if (values.action === 'clear') {
      const key = typeof values.personKey === 'string' ? values.personKey : '';
      const cleared = await clearStance(ctx.db, campaignOf(res).id, key, staffOf(res));
      return back(
        req,
        res,
        cleared ? `Cleared the stance of ${key}.` : 'That stance was already cleared.',
        'h-stances',
      );
    }
    const parsed = stanceForm.safeParse(values);
    if (!parsed.success)
      return renderStances(res, { errors: fieldErrors(parsed.error), values, form: 'stance' }, 400);
    const saved = await saveStance(ctx.db, campaignOf(res).id, parsed.data, staffOf(res));
    if (!saved.ok) return renderStances(res, { errors: saved.errors, values, form: 'stance' }, 400);
    back(req, res, `Saved the stance of ${parsed.data.personKey}.`, 'h-stances');
  });

  const receiveStancesCsv = receiveCsv(csrf, (res, message) =>
    renderStances(res, { errors: { file: message }, form: 'csv' }, 400),
  );

  // A multipart form (a file, or pasted text): the CSRF token is in the body, checked once it is read.
  router.post(
    '/staff/campaigns/:slug/stances/import',
    edit,
    loadCampaign,
    receiveStancesCsv,
    csrf.protect,
    async (req, res) => {
      const values = body(req);
      const pasted = pastedCsv.safeParse(typeof values.csv === 'string' ? values.csv : '');
      if (!pasted.success)
        return renderStances(
          res,
          { errors: { csv: pasted.error.issues[0]!.message }, values, form: 'csv' },
          400,
        );
      const file = req.file && req.file.size > 0 ? req.file : undefined;
      // One or the other: a file and text together would leave staff unsure which was imported.
      const field = file ? 'file' : 'csv';
      if (file && pasted.data !== '')
        return renderStances(
          res,
          {
            errors: { file: 'Upload a file or paste CSV text, not both.' },
            values,
            form: 'csv',
          },
          400,
        );
      if (!file && pasted.data === '')
        return renderStances(
          res,
          { errors: { file: 'Choose a CSV file, or paste the CSV text.' }, values, form: 'csv' },
          400,
        );
      const text = file ? uploadedText(file) : pasted.data;
      const result = await importStances(ctx.db, campaignOf(res).id, text, staffOf(res));
      if (!result.ok)
        return renderStances(
          res,
          {
            errors: {
              [field]: nothingImported(file ? 'the file' : 'the CSV', result.errors.length),
            },
            rowErrors: result.errors,
            values,
            form: 'csv',
          },
          400,
        );
      back(req, res, `Imported ${result.imported} stances.`, 'h-stances');
    },
  );

  router.post('/staff/campaigns/:slug/bills', edit, loadCampaign, async (req, res) => {
    const values = body(req);
    const id = values.id === undefined || values.id === '' ? undefined : Number(values.id);
    if (id !== undefined && !Number.isSafeInteger(id))
      return renderStances(res, { errors: { form: 'There is no such bill.' }, form: 'bill' }, 400);
    if (values.action === 'delete' && id !== undefined) {
      const removed = await deleteBill(ctx.db, campaignOf(res).id, id, staffOf(res));
      return back(req, res, removed ? 'Bill removed.' : 'That bill was already gone.', 'h-bills');
    }
    const parsed = billForm.safeParse(values);
    if (!parsed.success)
      return renderStances(res, { errors: fieldErrors(parsed.error), values, form: 'bill' }, 400);
    const saved = await saveBill(ctx.db, campaignOf(res).id, id, parsed.data, staffOf(res));
    if (!saved.ok) return renderStances(res, { errors: saved.errors, values, form: 'bill' }, 400);
    back(req, res, `Saved ${saved.value.jurisdiction} ${saved.value.number}.`, 'h-bills');
  });

  router.post('/staff/campaigns/:slug/ban-places', edit, loadCampaign, async (req, res) => {
    const values = body(req);
    const id = values.id === undefined || values.id === '' ? undefined : Number(values.id);
    if (id !== undefined && !Number.isSafeInteger(id))
      return renderStances(
        res,
        { errors: { form: 'There is no such place.' }, form: 'place' },
        400,
      );
    if (values.action === 'delete' && id !== undefined) {
      const removed = await deletePlace(ctx.db, campaignOf(res).id, id, staffOf(res));
      return back(
        req,
        res,
        removed ? 'Place removed.' : 'That place was already gone.',
        'h-places',
      );
    }
    const parsed = placeForm.safeParse(values);
    if (!parsed.success)
      return renderStances(res, { errors: fieldErrors(parsed.error), values, form: 'place' }, 400);
    const saved = await savePlace(ctx.db, campaignOf(res).id, id, parsed.data, staffOf(res));
    if (!saved.ok) return renderStances(res, { errors: saved.errors, values, form: 'place' }, 400);
    back(req, res, `Saved ${saved.value.name}, ${saved.value.state}.`, 'h-places');
  });

  // --- Letter templates per stance, and call scripts -------------------------------------------

  interface TextKey {
    kind: StanceTextKind;
    level: TargetLevel;
    stance: ScriptStance;
    language: Language;
  }

  const textKeyOf = (req: Request): TextKey | undefined => {
    const given = { ...(req.query as Record<string, unknown>), ...body(req) };
    const kind = given.kind ?? 'letter';
    const level = given.level ?? 'federal';
    const language = given.language ?? DEFAULT_LANGUAGE;
    if ((kind !== 'letter' && kind !== 'call') || !isTargetLevel(level) || !isLanguage(language))
      return undefined;
    const stance = given.stance ?? (kind === 'letter' ? 'champion' : 'any');
    const stances: readonly ScriptStance[] = kind === 'letter' ? STANCES : SCRIPT_STANCES;
    if (!stances.includes(stance as ScriptStance)) return undefined;
    return { kind, level, stance: stance as ScriptStance, language };
  };
  const storedKey = (campaign: Campaign, { level, stance, language }: TextKey) => ({
    campaignId: campaign.id,
    level,
    stance,
    language,
  });
  const textsPath = (campaign: Campaign, key: TextKey) =>
    `/staff/campaigns/${campaign.slug}/stance-texts?kind=${key.kind}&level=${key.level}&stance=${key.stance}&language=${key.language}`;

  const renderTexts = async (
    req: Request,
    res: Response,
    key: TextKey,
    draft?: { subject?: string; body: string; zip?: string },
    errors: FieldErrors = {},
    status = 200,
  ) => {
    const campaign = campaignOf(res);
    const { kind, level, stance, language } = key;
    const stored =
      kind === 'letter'
        ? await stanceTemplates(ctx.db, campaign.id)
        : await storedCallScripts(ctx.db, campaign.id);
    const customised = (each: { level: TargetLevel; stance: ScriptStance; language: Language }) =>
      stored.some(
        (t) => t.level === each.level && t.stance === each.stance && t.language === each.language,
      );
    const found: { subject?: string; body: string } | undefined = stored.find(
      (each) => each.level === level && each.stance === stance && each.language === language,
    );
    let current: { subject: string; body: string };
    let from: string;
    if (kind === 'letter') {
      // Without one of its own, the stance's letters use the level's template: the campaign's, else the project's.
      const levelTemplates = await storedTemplates(ctx.db, campaign.id);
      const levelOwn =
        levelTemplates.find((t) => t.level === level && t.language === language) ??
        levelTemplates.find((t) => t.level === level && t.language === DEFAULT_LANGUAGE);
      current =
        found?.subject !== undefined
          ? { subject: found.subject, body: found.body }
          : (levelOwn ?? ctx.letterTemplates.filesByLanguage[language][level]);
      from = found
        ? `This campaign's ${LEVEL_LABELS[level].toLowerCase()} letter for ${STANCE_LABELS[stance].toLowerCase()}.`
        : `No letter of its own for ${STANCE_LABELS[stance].toLowerCase()} yet: they get the ${LEVEL_LABELS[level].toLowerCase()} letter, shown here. Saving gives them this one.`;
    } else {
      const script = scriptFor(
        scripts(),
        stored,
        level,
        stance === 'any' ? undefined : stance,
        language,
      );
      current = { subject: '{{campaign.title}}', body: script.body };
      from =
        script.from === 'project'
          ? "The project's own script; saving makes it this campaign's."
          : found
            ? "This campaign's own script."
            : 'No script of its own for this stance yet: callers see the level\u2019s script, shown here.';
    }
    const shown = { subject: draft?.subject ?? current.subject, body: draft?.body ?? current.body };
    const given = draft?.zip ?? (typeof req.query.zip === 'string' ? req.query.zip : '');
    const zip = given.trim() || (await sampleZip(ctx, campaign, level));
    const preview =
      Object.keys(errors).length > 0
        ? { problem: 'Fix the text to see the preview.' }
        : await previewTemplate(
            ctx,
            campaign,
            level,
            kind === 'letter' ? shown : { subject: '{{campaign.title}}', body: shown.body },
            zip,
            language,
          );
    const stances: readonly ScriptStance[] = kind === 'letter' ? STANCES : SCRIPT_STANCES;
    res.status(status).render('staff/stance-texts', {
      layout: 'staff',
      title: `${kind === 'letter' ? 'Letters by stance' : 'Call scripts'} · ${campaign.title}`,
      campaign,
      letter: kind === 'letter',
      kind,
      level,
      stance,
      language,
      levelLabel: LEVEL_LABELS[level],
      stanceLabel: STANCE_LABELS[stance],
      languageName: LANGUAGE_NAMES[language],
      kinds: (['letter', 'call'] as const).map((each) => ({
        href: textsPath(campaign, {
          ...key,
          kind: each,
          stance: each === 'letter' ? 'champion' : 'any',
        }),
        label: each === 'letter' ? 'Letters by stance' : 'Call scripts',
        current: each === kind,
      })),
      levels: TARGET_LEVELS.map((each) => ({
        href: textsPath(campaign, { ...key, level: each }),
        label: LEVEL_LABELS[each],
        current: each === level,
      })),
      stances: stances.map((each) => ({
        href: textsPath(campaign, { ...key, stance: each }),
        label: STANCE_LABELS[each],
        current: each === stance,
        custom: customised({ level, stance: each, language }),
      })),
      languages: LANGUAGES.map((each) => ({
        href: textsPath(campaign, { ...key, language: each }),
        language: each,
        name: LANGUAGE_NAMES[each],
        current: each === language,
      })),
      custom: found !== undefined,
      from,
      values: { ...shown, zip },
      preview,
      mergeFields: MERGE_FIELDS.map((field) => `{{${field}}}`),
      ...formErrors(errors),
    });
  };

  const noSuchText = (res: Response) =>
    res.status(404).render('error', {
      layout: 'staff',
      title: 'No such text',
      message:
        'Texts are letters or call scripts, for Congress, state or local targets, per stance, in English or Spanish.',
    });

  router.get('/staff/campaigns/:slug/stance-texts', edit, loadCampaign, async (req, res) => {
    const key = textKeyOf(req);
    if (!key) return noSuchText(res);
    await renderTexts(req, res, key);
  });

  router.post('/staff/campaigns/:slug/stance-texts', edit, loadCampaign, async (req, res) => {
    const key = textKeyOf(req);
    if (!key) return noSuchText(res);
    const campaign = campaignOf(res);
    const values = body(req);
    const action = values.action;
    if (action === 'reset') {
      await resetStanceText(ctx.db, key.kind, storedKey(campaign, key), staffOf(res));
      ctx.letterTemplates.invalidate(campaign.id);
      flash(req, 'Removed: the level\u2019s text applies again.');
      return res.redirect(303, textsPath(campaign, key));
    }
    const draft = {
      subject: typeof values.subject === 'string' ? values.subject : undefined,
      body: typeof values.body === 'string' ? values.body : '',
      zip: typeof values.zip === 'string' ? values.zip : undefined,
    };
    let errors: FieldErrors;
    let subject = '';
    let text: string;
    if (key.kind === 'letter') {
      const parsed = templateForm.safeParse(values);
      if (!parsed.success) return renderTexts(req, res, key, draft, fieldErrors(parsed.error), 400);
      errors = templateErrors(parsed.data);
      subject = parsed.data.subject;
      text = parsed.data.body;
    } else {
      const parsed = scriptForm.safeParse(values);
      if (!parsed.success) return renderTexts(req, res, key, draft, fieldErrors(parsed.error), 400);
      const problem = validateLetterTemplate(parsed.data.body);
      errors = problem ? { body: problem } : {};
      text = parsed.data.body;
    }
    if (Object.keys(errors).length > 0) return renderTexts(req, res, key, draft, errors, 400);
    if (action !== 'save') return renderTexts(req, res, key, draft);
    await saveStanceText(
      ctx.db,
      key.kind,
      storedKey(campaign, key),
      { subject, body: text },
      staffOf(res),
    );
    ctx.letterTemplates.invalidate(campaign.id);
    flash(req, 'Saved; new letters and calls use it within seconds.');
    res.redirect(303, textsPath(campaign, key));
  });

  // --- Counts per office, as CSV ----------------------------------------------------------------

  router.get(
    '/staff/campaigns/:slug/offices.csv',
    requirePermission('exports.counts'),
    loadCampaign,
    async (req, res) => {
      const campaign = campaignOf(res);
      const rows = await officeCounts(ctx.db, campaign);
      await recordAudit(ctx.db, staffOf(res), {
        action: 'export.offices',
        campaignId: campaign.id,
        details: { rows: rows.length },
      });
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="${campaign.slug}-offices.csv"`);
      const header =
        'target,name,office,state,district,seat,signatures_from_constituents,letters_delivered,calls_reported,calls_talked_to_staff';
      const lines = rows.map((row) =>
        [
          csvCell(row.targetKey),
          csvCell(row.name),
          csvCell(row.title),
          csvCell(row.state),
          csvCell(row.district),
          csvCell(row.seat),
          row.signatures ?? '',
          row.lettersDelivered,
          row.calls,
          row.callsTalked,
        ].join(','),
      );
      res.send([header, ...lines].join('\r\n') + '\r\n');
    },
  );

  return router;
}
