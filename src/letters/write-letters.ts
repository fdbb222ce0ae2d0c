import { createHmac, randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { AppContext } from '../context';
import {
  CWC_PREFIXES,
  MESSAGE_MAX_LENGTH as CWC_MESSAGE_MAX,
  SUBJECT_MAX_LENGTH as CWC_SUBJECT_MAX,
} from '../delivery/cwc-schema';
import { houseOfficeCode } from '../representatives/congress-offices';
import { countMoves } from './letter-store';
import { sealedLetter, sealedLetterAction, sealedSignature } from '../db/sealed-rows';
import {
  letterActions,
  letters,
  type Campaign,
  type DeliveryChannel,
  type OfficialStance,
  type SelfSendOptions,
} from '../db/schema';
import { personKeyOf } from '../representatives/people';
import { publishedStances } from '../stances/store';
import { hashIp } from '../http/ip-hash';
import { honeypotFilled, signatureInput, supporterLine } from '../petitions/signature-input';
import { fieldErrors, type FieldErrors } from '../kernel/field-errors';
import { insertSignature } from '../petitions/signature-store';
import { stateForZip } from '../petitions/zip-state';
import { consentsGiven } from '../privacy/consent';
import { requestNotices } from '../privacy/notices';
import type { Official } from '../representatives/districts';
import { officeDescription, salutationTitle } from '../representatives/labels';
import {
  addressParts,
  lookupQuerySchema,
  lookupRepresentatives,
  type LookupResult,
} from '../representatives/lookup';
import type { Reservation } from '../abuse/email-limit';
import {
  BIDI_CONTROL,
  CONTROL_IN_LINE,
  CONTROL_IN_TEXT,
  headerProblem,
} from '../text-safety/characters';
import { stripInvisible } from '../text-safety/input';
import type { LetterTemplateStore } from './template-store';
import { raiseOutreachEvents } from '../webhooks/events';
import { applySupporterEdits, headerFieldError, levelOf, splitGreeting } from './templates';
import { campaignTitle } from '../campaigns/texts';
import {
  DEFAULT_LANGUAGE,
  english,
  LANGUAGES,
  translator,
  type Language,
  type Translator,
} from '../i18n/translations';
import { requestDelivery } from '../delivery/jobs/deliver-letter';
import { requestConfirmation } from './jobs/confirm-action';

/**
 * "Write to your lawmakers": from a supporter's address or ZIP, their representatives; one letter
 * per chosen target, from the campaign's template for the target's level, with the supporter's
 * edits; then, in one transaction, the action, its letters (the delivery outbox) and the
 * supporter's signature (writing also signs the petition, counted once). Delivery is queued after
 * the commit; a sweep queues again anything whose job was lost.
 */

/** A line of the subject the supporter wrote: as a header, with no line break or control character, nor direction controls (text-safety/input.ts). */
const subjectLine = (value: string, ctx: z.RefinementCtx) => {
  const header = headerProblem(value);
  const problem = header
    ? `errors:subject.${header}`
    : BIDI_CONTROL.test(value)
      ? 'errors:subject.direction'
      : null;
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
};

export const letterInput = signatureInput.extend({
  /** The honorific CWC requires for letters to Congress through it: one of CWC's own list, never guessed. */
  prefix: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z.enum(CWC_PREFIXES, { error: 'errors:prefix.invalid' }).optional(),
  ),
  city: supporterLine(z.string({ error: 'errors:city.invalid' }), {
    control: 'errors:city.oneLine',
    direction: 'errors:city.direction',
  })
    .max(100, 'errors:city.tooLong')
    .optional(),
  lat: z.coerce
    .number({ error: 'errors:lat.invalid' })
    .min(-90, 'errors:lat.invalid')
    .max(90, 'errors:lat.invalid')
    .optional(),
  lng: z.coerce
    .number({ error: 'errors:lng.invalid' })
    .min(-180, 'errors:lng.invalid')
    .max(180, 'errors:lng.invalid')
    .optional(),
  cd: z.string({ error: 'errors:district.invalid' }).optional(),
  sldu: z.string({ error: 'errors:district.invalid' }).optional(),
  sldl: z.string({ error: 'errors:district.invalid' }).optional(),
  targets: z
    .array(
      z
        .string({ error: 'errors:targets.invalid' })
        .max(200, 'errors:targets.invalid')
        .refine((id) => !CONTROL_IN_LINE.test(id), 'errors:targets.invalid'),
      {
        error: 'errors:targets.invalid',
      },
    )
    .max(30, 'errors:targets.tooMany')
    .optional(),
  subject: z
    .string({ error: 'errors:subject.notText' })
    .max(1000, 'errors:subject.tooLong')
    .overwrite(stripInvisible)
    .superRefine(subjectLine)
    .optional(),
  body: z
    .string({ error: 'errors:body.notText' })
    .max(50_000, 'errors:body.tooLong')
    .refine((body) => !CONTROL_IN_TEXT.test(body), 'errors:body.controls')
    .optional(),
  note: z
    .string({ error: 'errors:note.notText' })
    .max(1000, 'errors:note.tooLong')
    .refine((note) => !CONTROL_IN_TEXT.test(note), 'errors:note.controls')
    .transform((note) => note.trim() || undefined)
    .optional(),
  wantsCopy: z
    .union([z.boolean(), z.enum(['on', 'true', 'false', ''])], {
      error: 'errors:wantsCopy.invalid',
    })
    .transform((v) => v === true || v === 'on' || v === 'true')
    .optional(),
  /** The language of the letters to the officials (the templates'); the supporter's page language when not given. */
  letterLanguage: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z.enum(LANGUAGES, { error: 'errors:letterLanguage.invalid' }).optional(),
  ),
  /** The client's own id for this request: sent again (a retry, a double click), it writes nothing new. */
  requestId: z
    .string({ error: 'errors:requestId.invalid' })
    .regex(/^[A-Za-z0-9_-]{16,100}$/, 'errors:requestId.invalid')
    .optional(),
});

export type LetterInput = z.output<typeof letterInput>;

/** A target the supporter can write to, with the letter they would send. */
export interface LetterDraft {
  targetKey: string;
  official: Official;
  channel: DeliveryChannel;
  channelAddress: string | null;
  subject: string;
  /** The whole letter, as it is sent. */
  body: string;
  /** The part after the greeting: what the supporter may edit (the same for all their letters). */
  text: string;
  /** The official's published stance, which chose the template. */
  stance?: OfficialStance;
}

export type WriteResult =
  | {
      outcome: 'sent';
      actionId: string;
      statusToken: string;
      letters: Array<{ target: string; to: string; channel: DeliveryChannel }>;
    }
  | { outcome: 'invalid'; errors: FieldErrors; candidates?: LookupResult['candidates'] }
  | { outcome: 'closed' }
  /** Over the asker's per-email letters budget: nothing written. */
  | { outcome: 'limited'; retryAfterSeconds: number }
  | { outcome: 'unavailable'; message: string };

export type WriteContext = Pick<
  AppContext,
  | 'db'
  | 'encryption'
  | 'config'
  | 'representatives'
  | 'geocoder'
  | 'logger'
  | 'queues'
  | 'tallyRequests'
  | 'noticeRequests'
  | 'partnerSources'
> & {
  letterTemplates: LetterTemplateStore;
} & Partial<Pick<AppContext, 'webhookWakeups'>>;

/** A stable id for a target across lookups: the office and the publisher's id. */
export function targetKeyOf(official: Official): string | null {
  const id = official.ids.bioguide ?? official.ids.openstates ?? official.ids.customTarget;
  return official.vacant || !id ? null : `${official.office}:${id}`;
}

/** The supporter's officials this campaign's letters may go to (its target offices), each with its key. */
export function writableTargets(
  campaign: Pick<Campaign, 'targetOffices'>,
  officials: Official[],
): Array<{ key: string; official: Official }> {
  return officials.flatMap((official) => {
    const key = campaign.targetOffices.includes(official.office) ? targetKeyOf(official) : null;
    return key ? [{ key, official }] : [];
  });
}

/** Which chambers' offices this supporter's letters can reach through CWC. */
export interface CwcReach {
  house: boolean;
  senate: boolean;
}

/**
 * CWC documents need the constituent's street address and city: without them, or where the
 * chamber's CWC is not configured, letters to Congress go by hand.
 */
export function cwcUsable(
  ctx: Pick<WriteContext, 'config'>,
  address: string | undefined,
  city: string | undefined,
): CwcReach {
  const cwc = ctx.config.delivery.cwc;
  const located = Boolean(address && city);
  return {
    house: located && cwc?.house !== undefined,
    senate: located && cwc?.senate !== undefined,
  };
}

/** The key of the message that asks for an honorific, on the form and from the JSON door. */
export const PREFIX_REQUIRED = 'errors:prefix.required';

/** The supporter's city: as given, or read from their address. */
export function cityOf(input: Pick<LetterInput, 'city' | 'address'>): string | undefined {
  return (
    input.city?.split(',')[0]?.trim() ||
    (input.address ? addressParts(input.address).city : undefined)
  );
}

/**
 * How a letter to this official travels: email where there is an address; CWC to a member of
 * Congress when that chamber's CWC can be used for this supporter, addressed to the member's CWC
 * office code (from the data; for a House member in data imported before it carried them, worked
 * out from the district); else by hand.
 */
export function channelFor(
  official: Official,
  cwc: CwcReach,
): { channel: DeliveryChannel; address: string | null } {
  const email = official.channels.find((channel) => channel.type === 'email');
  if (email && email.type === 'email') return { channel: 'email', address: email.address };
  const usable =
    (official.office === 'us-house' && cwc.house) ||
    (official.office === 'us-senate' && cwc.senate);
  const office = usable ? cwcOfficeOf(official) : undefined;
  return office ? { channel: 'cwc', address: office } : { channel: 'hand', address: null };
}

function cwcOfficeOf(official: Official): string | undefined {
  const listed = official.channels.find((channel) => channel.type === 'cwc');
  if (listed?.type === 'cwc') return listed.office;
  if (
    official.office === 'us-house' &&
    official.district !== null &&
    /^\d+$/.test(official.district)
  ) {
    return houseOfficeCode(official.state, Number(official.district));
  }
  return undefined;
}

/**
 * A new letter's status: queued for its channel; by hand waits for staff; but a rehearsal letter
 * that would go by hand is done at once (there is nothing to rehearse electronically, and a test
 * letter must never be printed into a real packet).
 */
function firstStatus(channel: DeliveryChannel, rehearsal: boolean) {
  if (channel !== 'hand') return { status: 'queued' as const, countedStatus: 'queued' as const };
  if (rehearsal)
    return {
      status: 'rehearsed' as const,
      countedStatus: 'rehearsed' as const,
      deliveredAs: 'rehearsal' as const,
      deliveredAt: new Date(),
    };
  return { status: 'hand-delivery' as const, countedStatus: 'hand-delivery' as const };
}

/** The office's own ways in (its web contact form, its email address), for a supporter who sends the letter themselves. */
export function selfSendOptions(official: Official): SelfSendOptions | null {
  const form = official.channels.find((channel) => channel.type === 'contact-form');
  const email = official.channels.find((channel) => channel.type === 'email');
  const options: SelfSendOptions = {
    ...(form?.type === 'contact-form' && /^https?:\/\//i.test(form.url)
      ? { contactForm: form.url }
      : {}),
    ...(email?.type === 'email' ? { email: email.address } : {}),
  };
  return Object.keys(options).length > 0 ? options : null;
}

/**
 * Looks the supporter up and drafts one letter per target; nothing is written. `tr` is the
 * supporter's language (the messages); the letters are in `input.letterLanguage`, else in it.
 */
export async function draftLetters(
  ctx: WriteContext,
  campaign: Campaign,
  input: LetterInput,
  tr: Translator = english(),
): Promise<
  | { ok: true; lookup: LookupResult; drafts: LetterDraft[]; city: string | undefined }
  | Exclude<WriteResult, { outcome: 'sent' | 'limited' }>
> {
  const { t } = tr;
  const city = cityOf(input);
  const nameError = headerFieldError(input.name, 'name', t);
  if (nameError) return { outcome: 'invalid', errors: { name: nameError } };
  const query = lookupQuerySchema.safeParse(
    Object.fromEntries(
      Object.entries({
        zip: input.zip,
        address: input.address,
        city: input.city,
        lat: input.lat,
        lng: input.lng,
        cd: input.cd,
        sldu: input.sldu,
        sldl: input.sldl,
      })
        .filter(([, v]) => v !== undefined && v !== '')
        .map(([k, v]) => [k, String(v)]),
    ),
  );
  if (!query.success) return { outcome: 'invalid', errors: fieldErrors(query.error, t) };
  const found = await lookupRepresentatives(
    {
      data: ctx.representatives.current,
      geocoder: ctx.geocoder,
      onGeocoderError: (error) =>
        ctx.logger.warn({ reason: error.message }, 'geocoder unavailable; looking up by ZIP'),
      t,
    },
    query.data,
    await ctx.representatives.customTargets(campaign.id),
  );
  if (!found.ok) {
    if (found.status === 400) return { outcome: 'invalid', errors: found.errors };
    if (found.status === 404) return { outcome: 'invalid', errors: { zip: found.message } };
    return { outcome: 'unavailable', message: found.message };
  }
  const lookup = found.result;
  const chosen = input.cd ?? input.sldu ?? input.sldl;
  if (lookup.ambiguous && lookup.precision === 'zip' && !chosen) {
    return {
      outcome: 'invalid',
      errors: { zip: t('errors:zip.spansDistricts') },
      candidates: lookup.candidates,
    };
  }

  const cwcEnabled = cwcUsable(ctx, input.address, city);
  const available = writableTargets(campaign, lookup.officials);
  const wanted = input.targets ? new Set(input.targets) : undefined;
  if (wanted) {
    const unknown = [...wanted].filter((key) => !available.some((target) => target.key === key));
    if (unknown.length > 0)
      return {
        outcome: 'invalid',
        errors: { targets: t('errors:targets.unknown', { targets: unknown.join(', ') }) },
      };
  }
  const selected = available.filter((target) =>
    wanted ? wanted.has(target.key) : channelFor(target.official, cwcEnabled).channel !== 'hand',
  );
  if (selected.length === 0)
    return { outcome: 'invalid', errors: { targets: t('errors:targets.none') } };

  const letterLanguage = input.letterLanguage ?? tr.language;
  const inLetter = translator(letterLanguage);
  const templates = await ctx.letterTemplates.forCampaign(campaign.id, letterLanguage);
  // The officials' published stances: a champion is thanked, the undecided pressed (src/stances).
  const stances = await publishedStances(ctx.db, campaign.id);
  const drafts: LetterDraft[] = [];
  const errors: FieldErrors = {};
  for (const { key, official } of selected) {
    const personKey = personKeyOf(official);
    const stance = personKey ? stances.get(personKey) : undefined;
    const rendered = templates.render(
      levelOf(official.office),
      {
        supporter: {
          name: input.name,
          city,
          state: lookup.districts.congressional?.state,
          zip: input.zip,
          note: input.note,
        },
        target: {
          title: salutationTitle(official, inLetter),
          name: official.name ?? '',
          office: officeDescription(official, inLetter),
          district: official.district ?? undefined,
        },
        campaign: { title: campaignTitle(campaign, letterLanguage) },
      },
      stance?.stance,
    );
    // The supporter edits the text after the greeting; each recipient keeps their own address block and greeting.
    const { head, text } = splitGreeting(rendered.body);
    const edited = applySupporterEdits(
      { subject: rendered.subject, body: text },
      { subject: input.subject, body: input.body },
      campaign.letterLimits,
      t,
    );
    if (!edited.ok) {
      Object.assign(errors, edited.errors);
      break;
    }
    const { channel, address } = channelFor(official, cwcEnabled);
    const body = head ? `${head}\n\n${edited.letter.body}` : edited.letter.body;
    // Congress's system takes no more than this: said now, not found out when the letter fails later.
    if (channel === 'cwc') {
      if ([...edited.letter.subject].length > CWC_SUBJECT_MAX) {
        errors.subject = `Letters to Congress can have a subject of at most ${CWC_SUBJECT_MAX} characters: please shorten it.`;
      }
      if ([...body].length > CWC_MESSAGE_MAX) {
        errors.body = `Letters to Congress can be at most ${CWC_MESSAGE_MAX.toLocaleString('en-US')} characters, greeting included: please shorten yours.`;
      }
      if (errors.subject || errors.body) break;
    }
    drafts.push({
      targetKey: key,
      official,
      channel,
      channelAddress: address,
      subject: edited.letter.subject,
      body,
      text: edited.letter.body,
      stance,
    });
  }
  if (Object.keys(errors).length > 0) return { outcome: 'invalid', errors };
  return { ok: true, lookup, drafts, city };
}

/** Writes the action, its letters and the signature in one transaction, then queues the deliveries. */
export async function writeLetters(
  ctx: WriteContext,
  campaign: Campaign,
  raw: unknown,
  request: {
    ip: string | undefined;
    channel?: 'form' | 'api';
    /** Takes a use of the writer's letters budget before writing (handed back when nothing is written): only what is written counts. */
    reserve?: (email: string) => Promise<Reservation>;
    /** The supporter's language: their messages, the confirmation email, and their letters unless they chose another. */
    language?: Language;
  },
): Promise<WriteResult> {
  if (campaign.status !== 'open') return { outcome: 'closed' };
  const language = request.language ?? DEFAULT_LANGUAGE;
  const tr = translator(language);
  const { t } = tr;
  const parsed = letterInput.safeParse(raw);
  if (!parsed.success) return { outcome: 'invalid', errors: fieldErrors(parsed.error, t) };
  const input = parsed.data;
  const drafted = await draftLetters(ctx, campaign, input, tr);
  if (!('ok' in drafted)) return drafted;
  const { lookup, drafts, city } = drafted;
  // CWC requires an honorific from its list; none is guessed for the supporter.
  if (!input.prefix && drafts.some((draft) => draft.channel === 'cwc'))
    return { outcome: 'invalid', errors: { prefix: t(PREFIX_REQUIRED) } };
  const statusToken = randomBytes(24).toString('base64url');

  const summary = drafts.map((draft) => ({
    target: draft.targetKey,
    to: draft.official.name ?? '',
    channel: draft.channel,
  }));
  // A bot caught by the honeypot gets the same answer, and nothing is written or sent.
  if (honeypotFilled(raw)) return { outcome: 'sent', actionId: '0', statusToken, letters: summary };

  // A retried request (the same requestId) answers with the action it wrote and writes nothing more.
  // Keyed by the client's secret id, never by who wrote: knowing someone's email must not open their letters.
  // The signature that comes with the letters records the consents given, in the words shown.
  const partner = input.partnerOptIn
    ? await ctx.partnerSources.bySource(campaign.id, input.source)
    : undefined;
  if (input.partnerOptIn && !partner) {
    return { outcome: 'invalid', errors: { partnerOptIn: t('errors:partnerOptIn.noPartner') } };
  }
  const consentsToRecord = consentsGiven(input, partner, t);
  // Bound to the writer's email too: a requestId someone else learned, sent with another address,
  // is a new submission of its own and never answers with the first writer's status link.
  const requestKey = input.requestId
    ? createHmac('sha256', ctx.config.secret)
        .update(
          `letters:${input.requestId}:${ctx.encryption.emailHash(input.email).toString('hex')}`,
        )
        .digest('hex')
    : null;

  // A letter keeps the mode it was written in (see `letters.rehearsal`).
  const rehearsal = campaign.deliveryMode === 'rehearsal';
  const reservation = request.reserve ? await request.reserve(input.email) : undefined;
  if (reservation?.limited)
    return { outcome: 'limited', retryAfterSeconds: reservation.retryAfterSeconds };
  const districts = lookup.districts;
  const written = await ctx.db
    .transaction(async (tx) => {
      const [action] = await tx
        .insert(letterActions)
        .values({
          campaignId: campaign.id,
          statusToken,
          ...sealedLetterAction(ctx.encryption, { ...input, city }),
          zip: input.zip,
          state: districts.congressional?.state ?? stateForZip(input.zip) ?? null,
          congressionalDistrict: districts.congressional?.geoid ?? null,
          stateUpperDistrict: districts.stateUpper?.geoid ?? null,
          stateLowerDistrict: districts.stateLower?.geoid ?? null,
          wantsCopy: input.wantsCopy ?? true,
          requestKey,
          language,
        })
        .onConflictDoNothing({ target: [letterActions.campaignId, letterActions.requestKey] })
        .returning({ id: letterActions.id });
      if (!action) return { repeated: true as const };
      const id = action.id;
      const inserted = await tx
        .insert(letters)
        .values(
          drafts.map((draft) => ({
            actionId: id,
            campaignId: campaign.id,
            idempotencyKey: `${id}:${draft.targetKey}`,
            targetKey: draft.targetKey,
            office: draft.official.office,
            targetName: draft.official.name ?? '',
            targetTitle: officeDescription(draft.official),
            targetState: draft.official.state || null,
            targetDistrict: draft.official.district,
            channel: draft.channel,
            channelAddress: draft.channelAddress,
            selfSend: selfSendOptions(draft.official),
            ...sealedLetter(ctx.encryption, draft),
            rehearsal,
            // Counted below, as it enters its first status.
            ...firstStatus(draft.channel, rehearsal),
          })),
        )
        .returning({ id: letters.id, status: letters.status });
      await tx.execute(sql`
      WITH moved AS (SELECT id, NULL::text AS previous, counted_status AS next FROM letters WHERE action_id = ${id}::bigint)
      ${countMoves('moved')}`);
      // Writing signs the petition too; a supporter who already signed is not counted again.
      const signatureId = await insertSignature(
        tx,
        {
          campaignId: campaign.id,
          ...sealedSignature(ctx.encryption, input),
          zip: input.zip,
          state: districts.congressional?.state ?? stateForZip(input.zip) ?? null,
          source: input.source ?? null,
          optIn: input.optIn,
          ipHash: request.ip ? hashIp(ctx.config.secret, request.ip) : null,
          // Where signatures need confirming, the writer is asked to confirm too (the letters go out regardless).
          noticePending: campaign.requireVerification,
          language,
        },
        consentsToRecord,
        request.channel ?? 'api',
      );
      const queued = inserted.flatMap((letter, index) =>
        letter.status === 'queued' ? [{ id: letter.id, draft: drafts[index]! }] : [],
      );
      // Last, so that a partner's webhook sees the consents just recorded.
      const raised = await raiseOutreachEvents(tx, campaign.id, id);
      return { actionId: id, queued, signed: signatureId !== undefined, raised };
    })
    .catch(async (error: unknown) => {
      await reservation?.release();
      throw error;
    });
  if ('repeated' in written) {
    await reservation?.release();
    const [earlier] = await ctx.db
      .select({ id: letterActions.id, statusToken: letterActions.statusToken })
      .from(letterActions)
      .where(
        and(eq(letterActions.campaignId, campaign.id), eq(letterActions.requestKey, requestKey!)),
      );
    return {
      outcome: 'sent',
      actionId: String(earlier!.id),
      statusToken: earlier!.statusToken,
      letters: summary,
    };
  }
  const { actionId, queued, signed, raised } = written;
  if (raised.size > 0) ctx.webhookWakeups?.wake(raised);

  if (signed) {
    ctx.tallyRequests.request(campaign.id);
    if (campaign.requireVerification) requestNotices(ctx, campaign.id);
  }
  // After the commit: a job that could run before it would find nothing. A lost job is re-queued by the sweep.
  await Promise.all([
    ...queued.map(({ id, draft }) =>
      requestDelivery(ctx.queues, id, draft.channel === 'email' ? draft.channelAddress : null),
    ),
    requestConfirmation(ctx.queues, actionId),
  ]).catch((error: unknown) =>
    ctx.logger.warn({ err: error }, 'could not queue deliveries now; the sweep will'),
  );
  return { outcome: 'sent', actionId: String(actionId), statusToken, letters: summary };
}
