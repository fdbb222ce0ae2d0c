import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../context';
import { campaignConsentWording } from '../privacy/consent';
import type { Campaign, DeliveryChannel, OfficialStance } from '../db/schema';
import { namedPerson, personAsOfficial, personKeyOf } from '../representatives/people';
import { publishedStances } from '../stances/store';
import { stanceWords } from '../stances/stance-words';
import { csrfFailed, type createCsrf } from '../http/csrf';
import { translatorOf } from '../http/i18n';
import { campaignTexts } from '../campaigns/texts';
import { LANGUAGE_NAMES, LANGUAGES, type Translator } from '../i18n/translations';
import { honeypotFilled, sourceFromQuery } from '../petitions/signature-input';
import { fieldErrors, type FieldErrors } from '../kernel/field-errors';
import {
  districtChoices,
  officeDescription,
  placeLabel,
  salutationTitle,
} from '../representatives/labels';
import { lookupRateLimit } from '../representatives/routes';
import { letterRateLimit } from './routes';
import { protectForm } from '../abuse/controls';
import { normalisedEmail } from '../abuse/email-limit';
import { letterBudget, formScreen, noteHoneypot } from '../abuse/screens';
import {
  lookupQuerySchema,
  lookupRepresentatives,
  type LookupResult,
} from '../representatives/lookup';
import { CWC_PREFIXES } from '../delivery/cwc-schema';
import {
  channelFor,
  cityOf,
  cwcUsable,
  draftLetters,
  letterInput,
  selfSendOptions,
  writableTargets,
  writeLetters,
  type CwcReach,
  type LetterDraft,
  type LetterInput,
} from './write-letters';

/**
 * "Write to your lawmakers" as pages that work without JavaScript, all at one address:
 * `GET /campaigns/:slug/letters` asks where the supporter lives and who they are; each button
 * then posts the whole form back with a `step`: `lookup` (their representatives, as checkboxes),
 * `preview` (each letter, and the text to edit), `send` (write, then off to the private status
 * page). Everything the supporter typed travels in the form bodies, never in a URL. A sending
 * that cannot be taken as it came (its CSRF cookie gone, sent faster than a person could) is
 * never dropped: the letters come back, as edited, to be confirmed with one press. A link from the
 * scorecard names one official (`?official=<publisher id>`): the first step says so and still asks
 * where the writer lives, the choice travels with every step after, and the targets step puts that
 * official first and ticks only them when they are among the writer's representatives, or says
 * they are not; letters still go only to the writer's own representatives.
 */

type Step = 'start' | 'lookup' | 'choose' | 'preview' | 'send';
const STEPS: readonly Step[] = ['start', 'lookup', 'choose', 'preview', 'send'];

const SCALAR_FIELDS = [
  'name',
  'email',
  'zip',
  'city',
  'address',
  'cd',
  'sldu',
  'sldl',
  'choiceZip',
  'prefix',
  'note',
  'subject',
  'body',
  'source',
  'optIn',
  'wantsCopy',
  'website',
  'formToken',
  'requestId',
  'letterLanguage',
] as const;
type ScalarField = (typeof SCALAR_FIELDS)[number];

/** The official a scorecard link named, as the pages speak of them ("Senator Hana Senate"). */
interface NamedOfficial {
  key: string;
  label: string;
}

/**
 * A posted form: text fields as text (a repeated field is not text, and so left out), the chosen
 * targets as a list, and the official a scorecard link named, once looked up (`official`).
 */
type Form = Partial<Record<ScalarField, string>> & {
  step: Step;
  targets: string[] | undefined;
  official?: NamedOfficial;
};

function readForm(body: unknown): Form {
  const raw = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const form: Form = {
    step: STEPS.find((step) => step === raw.step) ?? 'lookup',
    targets: undefined,
  };
  for (const field of SCALAR_FIELDS) {
    const value = raw[field];
    if (typeof value === 'string') form[field] = value;
  }
  // `extended: false` gives one checkbox as a string and several as an array.
  const targets = raw.targets;
  if (typeof targets === 'string') form.targets = [targets];
  else if (Array.isArray(targets))
    form.targets = targets.filter((target): target is string => typeof target === 'string');
  return form;
}

/** Where the supporter lives and who they are: what every step after the first carries along. */
const DETAIL_FIELDS = [
  'name',
  'email',
  'zip',
  'city',
  'address',
  'cd',
  'sldu',
  'sldl',
  'source',
  'prefix',
  'letterLanguage',
] as const;

function details(
  form: Form,
  options: { geocoder: boolean; keepChoice: boolean },
): Partial<Record<(typeof DETAIL_FIELDS)[number], string>> {
  const picked: Partial<Record<(typeof DETAIL_FIELDS)[number], string>> = {};
  for (const field of DETAIL_FIELDS) {
    const value = form[field]?.trim();
    if (!value) continue;
    // An address is asked for only when a geocoder can place it.
    if (field === 'address' && !options.geocoder) continue;
    if ((field === 'cd' || field === 'sldu' || field === 'sldl') && !options.keepChoice) continue;
    picked[field] = value;
  }
  return picked;
}

/** Which step shows a field, so an error is shown next to the field it is about. */
const START_FIELDS = new Set([
  'name',
  'email',
  'zip',
  'city',
  'address',
  'cd',
  'sldu',
  'sldl',
  'source',
  'lat',
  'lng',
]);
const TARGET_FIELDS = new Set(['targets', 'note', 'letterLanguage']);

function stepFor(errors: FieldErrors): 'start' | 'targets' | 'preview' {
  const fields = Object.keys(errors);
  if (fields.some((field) => START_FIELDS.has(field))) return 'start';
  if (fields.some((field) => TARGET_FIELDS.has(field))) return 'targets';
  return 'preview';
}

/** How a letter travels, for the supporter (`letters:channel.email`, …). */
const channelText = (tr: Translator, channel: DeliveryChannel) =>
  tr.t(`letters:channel.${channel}`);

/**
 * The supporter's representatives that can be written to, for the checkboxes, each with their
 * published stance. Unless the supporter has chosen already (`selected`), those reached
 * electronically are ticked; when a scorecard link named one of them (`named`, a person key), that
 * one comes first and is the only one ticked.
 */
function targetOptions(
  campaign: Campaign,
  lookup: LookupResult,
  selected: string[] | undefined,
  cwc: CwcReach,
  tr: Translator,
  stances: Map<string, OfficialStance>,
  named: string | undefined,
) {
  const offered = writableTargets(campaign, lookup.officials);
  const first = named ? offered.findIndex(({ official }) => personKeyOf(official) === named) : -1;
  const options = offered.map(({ key, official }, index) => {
    const { channel } = channelFor(official, cwc);
    const person = personKeyOf(official);
    return {
      key,
      named: index === first,
      name: official.name ?? '',
      role: officeDescription(official, tr),
      stance: stanceWords(person ? stances.get(person) : undefined, tr),
      channelText: channelText(tr, channel),
      hand: channel === 'hand',
      checked: selected
        ? selected.includes(key)
        : first >= 0
          ? index === first
          : channel !== 'hand',
    };
  });
  return first > 0 ? [options[first]!, ...options.filter((_, index) => index !== first)] : options;
}

/** The same lookup `draftLetters` makes, for when it answers with an error but the targets are still to be shown. */
async function lookUp(
  ctx: AppContext,
  campaign: Campaign,
  input: Partial<Pick<LetterInput, 'zip' | 'address' | 'city' | 'cd' | 'sldu' | 'sldl'>>,
  tr: Translator,
) {
  const { zip, address, city, cd, sldu, sldl } = input;
  const fields = Object.entries({ zip, address, city, cd, sldu, sldl }).filter(
    ([, value]) => value !== undefined && value !== '',
  );
  const query = lookupQuerySchema.safeParse(Object.fromEntries(fields));
  if (!query.success) return undefined;
  const found = await lookupRepresentatives(
    {
      data: ctx.representatives.current,
      geocoder: ctx.geocoder,
      onGeocoderError: (error) =>
        ctx.logger.warn({ reason: error.message }, 'geocoder unavailable; looking up by ZIP'),
      t: tr.t,
    },
    query.data,
    await ctx.representatives.customTargets(campaign.id),
  );
  return found.ok ? found.result : undefined;
}

/** A textarea's text as the letter's body is kept (LF line ends, no trailing spaces), to tell an edit from the text as drafted. */
const asDrafted = (text: string) =>
  text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();

/**
 * The supporter's edits: only what they changed from the first letter's text. Unchanged text is
 * left out, so every representative gets their own letter as drafted; changed text goes to all.
 */
function editsOf(form: Form, first: LetterDraft | undefined): { subject?: string; body?: string } {
  const edits: { subject?: string; body?: string } = {};
  if (form.subject !== undefined && form.subject !== first?.subject) edits.subject = form.subject;
  if (form.body !== undefined && asDrafted(form.body) !== first?.text) edits.body = form.body;
  return edits;
}

const hiddenFields = (fields: Record<string, string | string[] | undefined>) =>
  Object.entries(fields).flatMap(([name, value]) =>
    value === undefined || value === ''
      ? []
      : (Array.isArray(value) ? value : [value]).map((item) => ({ name, value: item })),
  );

export function letterPages(ctx: AppContext, csrf: ReturnType<typeof createCsrf>): Router {
  const router = Router();
  // Over the network's budget: the same fields, kept, with one button to send them again once the wait is over.
  const tooMany =
    (what: 'lookups' | 'letters') => (req: Request, res: Response, retryAfter: number) => {
      const { t } = translatorOf(res);
      const body = (req.body ?? {}) as Record<string, unknown>;
      const fields = Object.entries(body).flatMap(([name, value]) =>
        name === '_csrf'
          ? []
          : (Array.isArray(value) ? value : [value])
              .filter((item) => typeof item === 'string')
              .map((item) => ({ name, value: item })),
      );
      res.setHeader('Cache-Control', 'no-store');
      res.status(429).render('confirm-again', {
        title: t(`letters:tooMany.${what}`),
        message: t('common:rateLimited.wait', { count: retryAfter }),
        button: t('common:rateLimited.again'),
        action: req.originalUrl,
        fields,
        csrfToken: csrf.token(req, res),
      });
    };
  // The same budgets as the lookup page and the JSON door for letters.
  const lookupLimited = lookupRateLimit(ctx, tooMany('lookups'));
  const sendLimited = letterRateLimit(ctx, tooMany('letters'));

  /** The official a scorecard link named, if the id is one we know; any other value is ignored. */
  const namedOfficial = async (
    campaign: Campaign,
    value: unknown,
    tr: Translator,
  ): Promise<NamedOfficial | undefined> => {
    const person = await namedPerson(ctx.db, campaign, value);
    if (!person) return undefined;
    const title = salutationTitle(personAsOfficial(person), tr);
    return { key: person.key, label: title ? `${title} ${person.name}` : person.name };
  };

  // A street address is asked for when something uses it: a geocoder to place it, or CWC, which needs it.
  const geocoder = ctx.geocoder !== undefined || ctx.config.delivery.cwc !== undefined;

  const render = (
    req: Request,
    res: Response,
    campaign: Campaign,
    view: Record<string, unknown>,
    status = 200,
  ) => {
    const tr = translatorOf(res);
    const texts = campaignTexts(campaign, tr.language);
    const errors = (view.errors ?? {}) as FieldErrors;
    const shown = (view.step ?? {}) as Record<string, boolean>;
    // Link each message to its field when the field is on this page.
    const anchor = (field: string) => {
      if (field === 'form') return undefined;
      if (shown.start && (field === 'cd' || field === 'sldu' || field === 'sldl'))
        return view.choices ? `choice-${field}` : undefined;
      if (shown.start && START_FIELDS.has(field) && field !== 'source') {
        return field === 'address' && !geocoder ? undefined : `field-${field}`;
      }
      if (shown.targets && TARGET_FIELDS.has(field))
        return field === 'letterLanguage' ? 'letter-language' : `field-${field}`;
      if (
        shown.preview &&
        (field === 'subject' || field === 'body' || field === 'captcha' || field === 'prefix')
      )
        return `field-${field}`;
      return undefined;
    };
    const errorList = Object.entries(errors).map(([field, message]) => ({
      field,
      message,
      anchor: anchor(field),
    }));
    // The pages echo names, addresses and letters: keep them out of every cache.
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).render('letters', {
      title: tr.t('letters:pageTitle', { title: texts.title }),
      pageTitlePrefix:
        errorList.length > 0
          ? tr.t('common:errorTitlePrefix')
          : view.confirm
            ? tr.t('common:confirmTitlePrefix')
            : undefined,
      campaign,
      texts,
      action: `/campaigns/${encodeURIComponent(campaign.slug)}/letters`,
      consentWording: campaignConsentWording(tr.t),
      csrfToken: csrf.token(req, res),
      // The fill-time token travels through every step from the first; the CAPTCHA is on the step that sends.
      ...protectForm(ctx, res, 'letters', readForm(req.body).formToken, {
        captcha: shown.preview === true,
      }),
      geocoder,
      closed: campaign.status !== 'open',
      rehearsal: campaign.deliveryMode === 'rehearsal',
      dataMissing: !ctx.representatives.current,
      values: {},
      ...view,
      errors,
      errorList,
    });
  };

  /** The first step; with the districts a split ZIP asks for, when `choices` are given. */
  const renderStart = (
    req: Request,
    res: Response,
    campaign: Campaign,
    form: Form,
    extra: Record<string, unknown>,
    status = 200,
  ) =>
    render(
      req,
      res,
      campaign,
      {
        step: { start: true },
        values: { ...details(form, { geocoder, keepChoice: false }) },
        official: form.official,
        ...extra,
      },
      status,
    );

  const renderTargets = async (
    req: Request,
    res: Response,
    campaign: Campaign,
    form: Form,
    input: LetterInput,
    lookup: LookupResult,
    extra: { errors?: FieldErrors; selected?: string[]; noElectronic?: boolean },
    status = 200,
  ) => {
    const tr = translatorOf(res);
    const targets = targetOptions(
      campaign,
      lookup,
      extra.selected,
      cwcUsable(ctx, input.address, cityOf(input)),
      tr,
      await publishedStances(ctx.db, campaign.id),
      form.official?.key,
    );
    const { letterLanguage: _chosen, ...carried } = details(form, { geocoder, keepChoice: true });
    const { official } = form;
    const named = official && targets.some((target) => target.named);
    // Ticked alone and first (the supporter has not chosen yet): a word on why, and that others may be added.
    const namedHint =
      named && extra.selected === undefined
        ? tr.t(targets.length > 1 ? 'letters:targets.chosenFirst' : 'letters:targets.chosenOnly', {
            name: official.label,
          })
        : undefined;
    const letterLanguage = input.letterLanguage ?? tr.language;
    render(
      req,
      res,
      campaign,
      {
        step: { targets: true },
        hidden: hiddenFields({ ...carried, official: official?.key }),
        place: placeLabel(lookup.districts, tr),
        notRepresented:
          official && !named
            ? tr.t('letters:targets.notRepresented', { name: official.label })
            : undefined,
        namedHint,
        byZip: lookup.precision === 'zip',
        targets,
        noElectronic: extra.noElectronic ?? !targets.some((target) => !target.hand),
        // The letters' language: the page's, or another the supporter prefers their representatives to read.
        letterLanguages: LANGUAGES.map((language) => ({
          value: language,
          name: LANGUAGE_NAMES[language],
          checked: language === letterLanguage,
        })),
        values: { note: form.note ?? input.note ?? '' },
        errors: extra.errors ?? {},
      },
      status,
    );
  };

  const renderPreview = (
    req: Request,
    res: Response,
    campaign: Campaign,
    form: Form,
    shown: LetterDraft[],
    extra: { errors?: FieldErrors; edited: boolean; confirm?: 'csrf' | 'too-fast' },
    status = 200,
  ) => {
    const tr = translatorOf(res);
    const first = shown[0];
    // First time here (from the targets): the letter as drafted, a copy by email, no updates unless asked.
    const returning = form.subject !== undefined || form.body !== undefined;
    const limits = campaign.letterLimits;
    // Congress's system requires an honorific: asked for here, where the letters show which go through it.
    const prefix = shown.some((draft) => draft.channel === 'cwc')
      ? { options: CWC_PREFIXES.map((value) => ({ value, selected: value === form.prefix })) }
      : undefined;
    const { prefix: _asked, ...carried } = details(form, { geocoder, keepChoice: true });
    const letterLanguage =
      (form.letterLanguage && LANGUAGES.find((language) => language === form.letterLanguage)) ||
      tr.language;
    render(
      req,
      res,
      campaign,
      {
        step: { preview: true },
        confirm: extra.confirm,
        prefix,
        hidden: hiddenFields({
          ...(prefix ? carried : details(form, { geocoder, keepChoice: true })),
          note: form.note,
          targets: form.targets,
          official: form.official?.key,
          // Names this sending: a double click or a resent form writes the letters once.
          requestId: form.requestId || randomBytes(18).toString('base64url'),
        }),
        letterLang: letterLanguage === tr.language ? undefined : letterLanguage,
        letters: shown.map((draft) => ({
          name: draft.official.name ?? '',
          role: officeDescription(draft.official, tr),
          stance: stanceWords(draft.stance, tr),
          channel: draft.channel,
          channelText: channelText(tr, draft.channel),
          selfSendText:
            draft.channel === 'hand' && selfSendOptions(draft.official)?.contactForm
              ? tr.t('letters:selfSendLater')
              : undefined,
          subject: draft.subject,
          body: draft.body,
        })),
        count: shown.length,
        several: shown.length > 1,
        edited: extra.edited,
        limits: {
          subjectMax: limits.subjectMax,
          bodyMax: limits.bodyMax,
          lockedOpening: limits.lockedOpening?.trim() || undefined,
          lockedClosing: limits.lockedClosing?.trim() || undefined,
        },
        values: {
          subject: form.subject ?? first?.subject ?? '',
          body: form.body ?? first?.text ?? '',
          wantsCopy: returning ? form.wantsCopy === 'on' : true,
          optIn: returning ? form.optIn === 'on' : false,
        },
        errors: extra.errors ?? {},
      },
      status,
    );
  };

  /** Shows the step an error belongs to, with the form as it was sent. */
  const renderErrors = async (
    req: Request,
    res: Response,
    campaign: Campaign,
    form: Form,
    errors: FieldErrors,
    shown?: LetterDraft[],
  ) => {
    const tr = translatorOf(res);
    const where = stepFor(errors);
    // Without the note, which may be what is wrong: the targets step shows it with its error.
    const input = letterInput.safeParse({
      ...inputOf(form, { targets: undefined }),
      note: undefined,
      letterLanguage: undefined,
    });
    if (where === 'targets' && input.success) {
      const lookup = await lookUp(ctx, campaign, input.data, tr);
      if (lookup)
        return renderTargets(
          req,
          res,
          campaign,
          form,
          input.data,
          lookup,
          { errors, selected: form.targets ?? [] },
          400,
        );
    }
    if (where === 'preview' && input.success) {
      const drafts = shown ?? (await draftsOf(campaign, form, {}, tr));
      if (drafts && !('outcome' in drafts))
        return renderPreview(req, res, campaign, form, drafts, { errors, edited: false }, 400);
    }
    renderStart(req, res, campaign, form, { errors }, 400);
  };

  const inputOf = (
    form: Form,
    extra: { targets: string[] | undefined; subject?: string; body?: string },
  ) => ({
    ...details(form, { geocoder, keepChoice: true }),
    note: form.note,
    ...extra,
  });

  /** The letters for the chosen targets, with the given edits. */
  const draftsOf = async (
    campaign: Campaign,
    form: Form,
    edits: { subject?: string; body?: string },
    tr: Translator,
  ) => {
    const parsed = letterInput.safeParse(inputOf(form, { targets: form.targets ?? [], ...edits }));
    if (!parsed.success)
      return { outcome: 'invalid' as const, errors: fieldErrors(parsed.error, tr.t) };
    const drafted = await draftLetters(ctx, campaign, parsed.data, tr);
    return 'ok' in drafted ? drafted.drafts : drafted;
  };

  /** The district choice for a split ZIP: one radio group per layer with more than one district, the chosen ones ticked. */
  const choicesFor = async (
    campaign: Campaign,
    input: Pick<LetterInput, 'zip' | 'cd' | 'sldu' | 'sldl'>,
    tr: Translator,
  ) => {
    const lookup = await lookUp(ctx, campaign, { zip: input.zip }, tr);
    if (!lookup?.ambiguous) return undefined;
    const choices = districtChoices(
      lookup.candidates,
      { cd: input.cd, sldu: input.sldu, sldl: input.sldl },
      tr,
    );
    return choices.length > 0 ? choices : undefined;
  };

  router.get('/campaigns/:slug/letters', async (req, res, next) => {
    const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
    if (!campaign) return next();
    render(req, res, campaign, {
      step: { start: true },
      values: { source: sourceFromQuery(req.query.source) },
      official: await namedOfficial(campaign, req.query.official, translatorOf(res)),
    });
  });

  router.post(
    '/campaigns/:slug/letters',
    (req, res, next) => {
      const { step } = readForm(req.body);
      if (step === 'send') return sendLimited(req, res, next);
      if (step === 'start') return next();
      return lookupLimited(req, res, next);
    },
    async (req, res, next) => {
      const campaign = await ctx.campaigns.bySlug(String(req.params.slug));
      if (!campaign) return next();
      const tr = translatorOf(res);
      const form = readForm(req.body);
      if (campaign.status !== 'open') return render(req, res, campaign, { step: {} }, 409);
      if (!ctx.representatives.current) return render(req, res, campaign, { step: {} }, 503);
      form.official = await namedOfficial(
        campaign,
        (req.body as Record<string, unknown> | undefined)?.official,
        tr,
      );

      switch (form.step) {
        case 'start': {
          // Back to the first step, or arriving from the lookup page with a ZIP (and, for a split ZIP,
          // the districts chosen there): the choice is shown again, ticked, and kept for this ZIP.
          const chosen = form.cd || form.sldu || form.sldl;
          const zip = form.zip?.trim();
          if (chosen && zip && (form.choiceZip === undefined || form.choiceZip.trim() === zip)) {
            const choices = await choicesFor(
              campaign,
              {
                zip,
                cd: form.cd?.trim() || undefined,
                sldu: form.sldu?.trim() || undefined,
                sldl: form.sldl?.trim() || undefined,
              },
              tr,
            );
            if (choices)
              return renderStart(req, res, campaign, form, {
                choices,
                choiceZip: zip,
                carriedChoice: true,
              });
          }
          return renderStart(req, res, campaign, form, {});
        }

        case 'lookup':
        case 'choose': {
          // A district choice counts only for the ZIP it was made for: a changed ZIP asks again.
          const keepChoice =
            form.step === 'choose' ||
            (form.choiceZip !== undefined && form.choiceZip.trim() === form.zip?.trim());
          const parsed = letterInput.safeParse({
            ...details(form, { geocoder, keepChoice }),
            note: form.note,
          });
          if (!parsed.success)
            return renderStart(
              req,
              res,
              campaign,
              form,
              { errors: fieldErrors(parsed.error, tr.t) },
              400,
            );
          const input = parsed.data;
          const selected = form.step === 'choose' ? (form.targets ?? []) : undefined;
          const drafted = await draftLetters(ctx, campaign, input, tr);
          const formWithChoice = {
            ...form,
            ...(keepChoice ? {} : { cd: undefined, sldu: undefined, sldl: undefined }),
          };
          if ('ok' in drafted)
            return renderTargets(req, res, campaign, formWithChoice, input, drafted.lookup, {
              selected,
            });
          if (drafted.outcome === 'unavailable')
            return renderStart(
              req,
              res,
              campaign,
              form,
              { errors: { form: drafted.message } },
              503,
            );
          if (drafted.outcome === 'closed') return render(req, res, campaign, { step: {} }, 409);
          if (drafted.candidates) {
            // Not a mistake: the ZIP is shared between districts, so we ask which are theirs, as a step of its own.
            const choices = districtChoices(
              drafted.candidates,
              { cd: input.cd, sldu: input.sldu, sldl: input.sldl },
              tr,
            );
            return renderStart(req, res, campaign, form, { choices, choiceZip: input.zip });
          }
          const errors = drafted.errors;
          if (Object.keys(errors).length === 1 && errors.targets) {
            // None of their representatives takes letters electronically: they may still choose hand delivery.
            const lookup = await lookUp(ctx, campaign, input, tr);
            // Nothing is ticked by default, unless a scorecard link named one of them.
            const extra = {
              selected: selected ?? (form.official ? undefined : []),
              noElectronic: true,
            };
            if (lookup)
              return renderTargets(req, res, campaign, formWithChoice, input, lookup, extra);
          }
          return renderStart(req, res, campaign, form, { errors }, 400);
        }

        case 'preview':
        case 'send': {
          const drafts = await draftsOf(campaign, form, {}, tr);
          if ('outcome' in drafts) {
            if (drafts.outcome === 'invalid')
              return renderErrors(req, res, campaign, form, drafts.errors);
            if (drafts.outcome === 'closed') return render(req, res, campaign, { step: {} }, 409);
            return renderStart(req, res, campaign, form, { errors: { form: drafts.message } }, 503);
          }
          const edits = editsOf(form, drafts[0]);
          const edited = edits.subject !== undefined || edits.body !== undefined;
          const withEdits = edited ? await draftsOf(campaign, form, edits, tr) : drafts;
          if ('outcome' in withEdits) {
            if (withEdits.outcome === 'invalid')
              return renderErrors(req, res, campaign, form, withEdits.errors, drafts);
            const message =
              withEdits.outcome === 'closed' ? tr.t('letters:closedError') : withEdits.message;
            return renderStart(req, res, campaign, form, { errors: { form: message } }, 503);
          }
          if (form.step === 'preview')
            return renderPreview(req, res, campaign, form, withEdits, { edited });
          // The sending's CSRF check failed (its cookie is gone, as in a restored tab): the letters, as edited, to confirm.
          if (csrfFailed(res))
            return renderPreview(
              req,
              res,
              campaign,
              form,
              withEdits,
              { edited, confirm: 'csrf' },
              403,
            );

          noteHoneypot(ctx, campaign, 'letters-form', form);
          const email = honeypotFilled(form) ? undefined : normalisedEmail(form.email);
          const screened = email
            ? await formScreen(
                ctx,
                campaign,
                'letters-form',
                req.body as Record<string, unknown>,
                req.ip,
                tr.t,
              )
            : undefined;
          if (screened?.outcome === 'invalid')
            return renderPreview(
              req,
              res,
              campaign,
              form,
              withEdits,
              { errors: screened.errors, edited },
              400,
            );
          // Sent faster than a person could: nothing is written until its sender confirms.
          if (screened?.outcome === 'confirm')
            return renderPreview(req, res, campaign, form, withEdits, {
              edited,
              confirm: 'too-fast',
            });
          const result = await writeLetters(
            ctx,
            campaign,
            {
              ...inputOf(form, { targets: form.targets ?? [], ...edits }),
              // An unticked checkbox sends nothing; "nothing" would mean the default (a copy) to the JSON door.
              wantsCopy: form.wantsCopy === 'on' ? 'on' : 'false',
              optIn: form.optIn === 'on' ? 'on' : 'false',
              website: form.website,
              requestId: form.requestId,
            },
            {
              ip: req.ip,
              channel: 'form',
              reserve: letterBudget(ctx, campaign, 'letters-form', req.ip),
              language: tr.language,
            },
          );
          if (result.outcome === 'sent')
            return res.redirect(303, `/letters/${result.statusToken}?sent=1`);
          if (result.outcome === 'limited') {
            res.setHeader('Retry-After', String(result.retryAfterSeconds));
            return renderPreview(
              req,
              res,
              campaign,
              form,
              withEdits,
              {
                errors: {
                  form: tr.t('letters:tooMany.fromEmail', {
                    count: Math.ceil(result.retryAfterSeconds / 60),
                  }),
                },
                edited,
              },
              429,
            );
          }
          if (result.outcome === 'invalid')
            return renderErrors(req, res, campaign, form, result.errors, drafts);
          if (result.outcome === 'closed') return render(req, res, campaign, { step: {} }, 409);
          return renderPreview(
            req,
            res,
            campaign,
            form,
            withEdits,
            { errors: { form: result.message }, edited },
            503,
          );
        }
      }
    },
  );

  return router;
}
