import { isDeepStrictEqual } from 'node:util';
import { and, asc, eq, ne, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client';
import {
  campaigns,
  letterTemplates,
  partners,
  type Campaign,
  type CampaignTranslations,
  type DeliveryMode,
  type Partner,
  type TargetOffice,
} from '../db/schema';
import { CAMPAIGN_SLUG } from './directory';
import type { FieldErrors } from '../kernel/field-errors';
import {
  hiddenFormattingIn,
  optionalStaffLine,
  optionalStaffText,
  staffLine,
  staffText,
} from '../text-safety/fields';
import { hiddenFormatting } from '../text-safety/input';
import {
  SUBJECT_MAX,
  TARGET_LEVELS,
  validateLetterTemplate,
  type TargetLevel,
} from '../letters/templates';
import { deleteCustomTargetList } from '../representatives/custom-targets';
import { recordAudit, type Actor } from '../staff/audit';
import { DEFAULT_LANGUAGE, type Language } from '../i18n/translations';

export const TARGET_OFFICES: ReadonlyArray<{ office: TargetOffice; label: string }> = [
  { office: 'us-house', label: 'U.S. Representative' },
  { office: 'us-senate', label: 'U.S. Senators' },
  { office: 'governor', label: 'Governor' },
  { office: 'state-upper', label: 'State senator' },
  { office: 'state-lower', label: 'State representative' },
  { office: 'custom', label: "The campaign's own targets (uploaded lists)" },
];

const ORIGIN = /^https?:\/\/[a-z0-9.-]+(?::\d{1,5})?$/;

const whole = (label: string, min: number, max: number) =>
  z.coerce
    .number({ error: `Enter ${label} as a number.` })
    .int(`Enter ${label} as a whole number.`)
    .min(min, `${label[0]!.toUpperCase()}${label.slice(1)} must be at least ${min}.`)
    .max(
      max,
      `${label[0]!.toUpperCase()}${label.slice(1)} must be at most ${max.toLocaleString('en-US')}.`,
    );
/** A form's checkboxes: absent, one value, or several. */
const checkboxes = <T extends string>(values: readonly T[], message: string) =>
  z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]))
    .pipe(z.array(z.enum(values as [T, ...T[]], { error: message })));

export const campaignForm = z
  .object({
    title: staffLine('a title', 200),
    slug: z
      .string({ error: 'Enter a web address name.' })
      .trim()
      .toLowerCase()
      .regex(
        CAMPAIGN_SLUG,
        'Use lower-case letters, digits and dashes (up to 64), like ban-face-surveillance.',
      ),
    summary: staffText('a summary', 600),
    petitionText: staffText('the petition text', 10_000),
    goal: whole('the goal', 1, 100_000_000),
    status: z.enum(['open', 'closed'], { error: 'Choose open or closed.' }),
    /** A checkbox: "on" when ticked, absent when not. */
    requireVerification: z
      .union([z.literal('on'), z.literal('true'), z.literal('false'), z.literal('')], {
        error: 'Tick the box or leave it empty.',
      })
      .optional()
      .transform((value) => value === 'on' || value === 'true'),
    letterFrom: z
      .string()
      .trim()
      .max(254)
      .optional()
      .transform((value) => value || undefined)
      .pipe(
        z
          .email({ error: 'Enter the sender as an email address, like letters@example.org.' })
          .optional(),
      ),
    rehearsalTo: z
      .string()
      .trim()
      .max(254)
      .optional()
      .transform((value) => value || undefined)
      .pipe(
        z
          .email({
            error: 'Enter the rehearsal address as an email address, like rehearsal@example.org.',
          })
          .optional(),
      ),
    subjectMax: whole('the subject limit', 20, SUBJECT_MAX),
    bodyMax: whole('the letter limit', 200, 20_000),
    lockedOpening: optionalStaffText('the locked opening', 1000),
    lockedClosing: optionalStaffText('the locked closing', 1000),
    targetOffices: checkboxes(
      TARGET_OFFICES.map((target) => target.office),
      'Choose offices from the list.',
    ),
    // The supporter-facing texts in Spanish: each optional; a text left empty shows in English.
    title_es: optionalStaffLine('the Spanish title', 200),
    summary_es: optionalStaffText('the Spanish summary', 600),
    petitionText_es: optionalStaffText('the Spanish petition text', 10_000),
  })
  .refine((form) => form.targetOffices.length > 0, {
    path: ['targetOffices'],
    message: 'Choose at least one office to write to.',
  });

export type CampaignForm = z.output<typeof campaignForm>;

/** The form's values for an existing campaign. */
export const campaignFormValues = (campaign: Campaign) => ({
  title: campaign.title,
  slug: campaign.slug,
  summary: campaign.summary,
  petitionText: campaign.petitionText,
  goal: campaign.goal,
  status: campaign.status,
  requireVerification: campaign.requireVerification,
  letterFrom: campaign.letterFrom ?? '',
  rehearsalTo: campaign.rehearsalTo ?? '',
  subjectMax: campaign.letterLimits.subjectMax,
  bodyMax: campaign.letterLimits.bodyMax,
  lockedOpening: campaign.letterLimits.lockedOpening ?? '',
  lockedClosing: campaign.letterLimits.lockedClosing ?? '',
  targetOffices: campaign.targetOffices,
  title_es: campaign.translations.es?.title ?? '',
  summary_es: campaign.translations.es?.summary ?? '',
  petitionText_es: campaign.translations.es?.petitionText ?? '',
});

/** The texts given in other languages, without the empty ones. */
function translationsOf(form: CampaignForm): CampaignTranslations {
  const es = Object.fromEntries(
    Object.entries({
      title: form.title_es,
      summary: form.summary_es,
      petitionText: form.petitionText_es,
    }).filter(([, text]) => text !== undefined),
  );
  return Object.keys(es).length > 0 ? { es } : {};
}

const columns = (form: CampaignForm) => ({
  title: form.title,
  slug: form.slug,
  summary: form.summary,
  petitionText: form.petitionText,
  goal: form.goal,
  status: form.status,
  requireVerification: form.requireVerification,
  letterFrom: form.letterFrom ?? null,
  rehearsalTo: form.rehearsalTo ?? null,
  letterLimits: {
    subjectMax: form.subjectMax,
    bodyMax: form.bodyMax,
    ...(form.lockedOpening ? { lockedOpening: form.lockedOpening } : {}),
    ...(form.lockedClosing ? { lockedClosing: form.lockedClosing } : {}),
  },
  targetOffices: form.targetOffices,
  translations: translationsOf(form),
});

const SLUG_TAKEN: FieldErrors = { slug: 'Another campaign already uses this web address.' };

export type SaveResult = { ok: true; campaign: Campaign } | { ok: false; errors: FieldErrors };

export async function createCampaign(
  db: Database,
  form: CampaignForm,
  actor: Actor,
): Promise<SaveResult> {
  return db.transaction(async (tx) => {
    const [campaign] = await tx
      .insert(campaigns)
      .values({ ...columns(form), closedAt: form.status === 'closed' ? new Date() : null })
      .onConflictDoNothing({ target: campaigns.slug })
      .returning();
    if (!campaign) return { ok: false, errors: SLUG_TAKEN };
    await recordAudit(tx, actor, {
      action: 'campaign.create',
      campaignId: campaign.id,
      details: { slug: campaign.slug },
    });
    return { ok: true, campaign };
  });
}

/** Saves the form over the campaign; the audit entry names the fields that changed. */
export async function updateCampaign(
  db: Database,
  campaign: Campaign,
  form: CampaignForm,
  actor: Actor,
): Promise<SaveResult> {
  const next = columns(form);
  const changed = Object.keys(next).filter(
    (key) => !isDeepStrictEqual(next[key as keyof typeof next], campaign[key as keyof Campaign]),
  );
  if (changed.length === 0) return { ok: true, campaign };
  return db.transaction(async (tx) => {
    if (next.slug !== campaign.slug) {
      const [taken] = await tx
        .select({ id: campaigns.id })
        .from(campaigns)
        .where(eq(campaigns.slug, next.slug));
      if (taken) return { ok: false, errors: SLUG_TAKEN };
    }
    // Closing dates the campaign: supporters' personal data is erased RETENTION_DAYS_AFTER_CLOSE days later.
    const closing =
      next.status === campaign.status
        ? {}
        : { closedAt: next.status === 'closed' ? new Date() : null };
    const [updated] = await tx
      .update(campaigns)
      .set({ ...next, ...closing, updatedAt: new Date() })
      .where(eq(campaigns.id, campaign.id))
      .returning();
    await recordAudit(tx, actor, {
      action: 'campaign.update',
      campaignId: campaign.id,
      details: { changed },
    });
    return { ok: true, campaign: updated! };
  });
}

/**
 * Switches a campaign between rehearsal (letters go to its rehearsal address or to files, CWC
 * documents to CWC's validation endpoint) and live (letters go to the offices). Audited; an admin's
 * decision in the console. Letters already written are sent in the mode their campaign is in when
 * they go out. Says whether anything changed.
 */
export async function setDeliveryMode(
  db: Database,
  campaign: Pick<Campaign, 'id' | 'deliveryMode'>,
  mode: DeliveryMode,
  actor: Actor,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const changed = await tx
      .update(campaigns)
      .set({ deliveryMode: mode, updatedAt: new Date() })
      .where(and(eq(campaigns.id, campaign.id), ne(campaigns.deliveryMode, mode)))
      .returning({ id: campaigns.id });
    if (changed.length === 0) return false;
    await recordAudit(tx, actor, {
      action: 'campaign.delivery-mode',
      campaignId: campaign.id,
      details: { from: campaign.deliveryMode, to: mode },
    });
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Letter templates

export const templateForm = z.object({
  subject: staffText('the subject template', 1000, 'Write a subject template.').refine(
    (value) => !hiddenFormatting(value),
    hiddenFormattingIn('the subject template'),
  ),
  body: staffText('the letter template', 30_000, 'Write a letter template.'),
  /** The sample supporter's ZIP code of the preview; empty for the first one the data has. */
  zip: z
    .string()
    .trim()
    .regex(/^(\d{5})?$/, 'Enter a 5-digit ZIP code for the preview.')
    .optional(),
});

/** Field errors for templates that would not compile; none when both are valid. */
export function templateErrors(template: { subject: string; body: string }): FieldErrors {
  const errors: FieldErrors = {};
  const subject = validateLetterTemplate(template.subject);
  if (subject) errors.subject = subject;
  else if (template.subject.includes('\n')) errors.subject = 'Write the subject on one line.';
  const body = validateLetterTemplate(template.body);
  if (body) errors.body = body;
  return errors;
}

export const isTargetLevel = (value: unknown): value is TargetLevel =>
  TARGET_LEVELS.includes(value as TargetLevel);

export async function storedTemplates(db: Database, campaignId: number) {
  return db.select().from(letterTemplates).where(eq(letterTemplates.campaignId, campaignId));
}

export async function saveTemplate(
  db: Database,
  campaignId: number,
  level: TargetLevel,
  template: { subject: string; body: string },
  actor: Actor,
  language: Language = DEFAULT_LANGUAGE,
) {
  await db.transaction(async (tx) => {
    await tx
      .insert(letterTemplates)
      .values({ campaignId, level, language, ...template })
      .onConflictDoUpdate({
        target: [letterTemplates.campaignId, letterTemplates.level, letterTemplates.language],
        set: { ...template, updatedAt: new Date() },
      });
    await recordAudit(tx, actor, {
      action: 'template.update',
      campaignId,
      details: { level, language },
    });
  });
}

/** Goes back to the project's template for the level and language (or, in another language than English, to the campaign's English one). */
export async function resetTemplate(
  db: Database,
  campaignId: number,
  level: TargetLevel,
  actor: Actor,
  language: Language = DEFAULT_LANGUAGE,
) {
  await db.transaction(async (tx) => {
    await tx
      .delete(letterTemplates)
      .where(
        and(
          eq(letterTemplates.campaignId, campaignId),
          eq(letterTemplates.level, level),
          eq(letterTemplates.language, language),
        ),
      );
    await recordAudit(tx, actor, {
      action: 'template.reset',
      campaignId,
      details: { level, language },
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Partners

export const partnerForm = z.object({
  name: staffLine('the organisation name', 200),
  sourceCode: z
    .string({ error: 'Enter a source code.' })
    .trim()
    .toLowerCase()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'Use letters, digits, - and _ (up to 64), like aclu-nc.'),
  origins: z
    .string()
    .optional()
    .transform((value) => [
      ...new Set(
        (value ?? '')
          .split(/[\s,]+/)
          .map((origin) => origin.trim().toLowerCase().replace(/\/+$/, ''))
          .filter(Boolean),
      ),
    ])
    .refine(
      (origins) => origins.every((origin) => ORIGIN.test(origin)),
      'List each site as an origin, like https://www.example.org (no path).',
    )
    .refine((origins) => origins.length <= 20, 'List at most 20 sites.'),
});

export type PartnerForm = z.output<typeof partnerForm>;

export const listPartners = (db: Database, campaignId: number) =>
  db.select().from(partners).where(eq(partners.campaignId, campaignId)).orderBy(asc(partners.name));

const CODE_TAKEN: FieldErrors = {
  sourceCode: 'Another partner of this campaign uses this source code.',
};

/** Adds a partner (no `id`) or saves one. */
export async function savePartner(
  db: Database,
  campaignId: number,
  id: number | undefined,
  form: PartnerForm,
  actor: Actor,
): Promise<{ ok: true; partner: Partner } | { ok: false; errors: FieldErrors }> {
  return db.transaction(async (tx) => {
    const [clash] = await tx
      .select({ id: partners.id })
      .from(partners)
      .where(
        and(
          eq(partners.campaignId, campaignId),
          eq(partners.sourceCode, form.sourceCode),
          id === undefined ? undefined : sql`${partners.id} <> ${id}`,
        ),
      );
    if (clash) return { ok: false, errors: CODE_TAKEN };
    const [partner] =
      id === undefined
        ? await tx
            .insert(partners)
            .values({ campaignId, ...form })
            .returning()
        : await tx
            .update(partners)
            .set({ ...form, updatedAt: new Date() })
            .where(and(eq(partners.id, id), eq(partners.campaignId, campaignId)))
            .returning();
    if (!partner) return { ok: false, errors: { form: 'There is no such partner.' } };
    await recordAudit(tx, actor, {
      action: id === undefined ? 'partner.create' : 'partner.update',
      campaignId,
      details: { partner: partner.name, sourceCode: partner.sourceCode, origins: partner.origins },
    });
    return { ok: true, partner };
  });
}

export async function deletePartner(
  db: Database,
  campaignId: number,
  id: number,
  actor: Actor,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [partner] = await tx
      .delete(partners)
      .where(and(eq(partners.id, id), eq(partners.campaignId, campaignId)))
      .returning();
    if (!partner) return false;
    await recordAudit(tx, actor, {
      action: 'partner.delete',
      campaignId,
      details: { partner: partner.name, sourceCode: partner.sourceCode },
    });
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Custom target lists

/** Deletes the campaign's list called `list` and records it in the audit log, in one transaction. */
export async function deleteTargetList(
  db: Database,
  campaignId: number,
  list: string,
  actor: Actor,
): Promise<number> {
  return db.transaction(async (tx) => {
    const removed = await deleteCustomTargetList(tx, campaignId, list);
    if (removed > 0)
      await recordAudit(tx, actor, {
        action: 'targets.delete-list',
        campaignId,
        details: { list, targets: removed },
      });
    return removed;
  });
}
