import { sql } from 'drizzle-orm';
import {
  bigint,
  customType,
  jsonb,
  real,
  bigserial,
  boolean,
  index,
  integer,
  pgSequence,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { Language } from '../i18n/translations';

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' });

export const campaigns = pgTable('campaigns', {
  id: serial('id').primaryKey(),
  slug: text('slug').notNull().unique(),
  title: text('title').notNull(),
  summary: text('summary').notNull(),
  petitionText: text('petition_text').notNull(),
  goal: integer('goal').notNull(),
  status: text('status', { enum: ['open', 'closed'] })
    .notNull()
    .default('open'),
  /** When staff last closed the campaign (none while open): supporters' data is purged a set time after. */
  closedAt: timestamp('closed_at', { withTimezone: true }),
  /** Double opt-in: a signature counts publicly once its email address is confirmed. */
  requireVerification: boolean('require_verification').notNull().default(false),
  /** Campaign-wide letter settings: the sender, and how far supporters may edit their letters. */
  letterFrom: text('letter_from'),
  letterLimits: jsonb('letter_limits')
    .$type<LetterLimits>()
    .notNull()
    .default({ subjectMax: 150, bodyMax: 5000 }),
  /** Which offices the letter flow offers supporters; `custom` is the campaign's own target lists. */
  targetOffices: text('target_offices')
    .array()
    .$type<TargetOffice[]>()
    .notNull()
    .default(
      sql`ARRAY['us-house','us-senate','state-upper','state-lower','governor','custom']::text[]`,
    ),
  /**
   * `rehearsal` (new campaigns, the demo): email letters go to the rehearsal address (or to files),
   * CWC documents to CWC's validation endpoint; nothing reaches an office. `live`: letters go to
   * the offices. Only an admin switches a campaign to live.
   */
  deliveryMode: text('delivery_mode').$type<DeliveryMode>().notNull().default('rehearsal'),
  /** Where a rehearsal's email letters go; without one they are written to files under DATA_DIR/mail. */
  rehearsalTo: text('rehearsal_to'),
  /**
   * The supporter-facing texts in other languages than English (`{ "es": { "title": … } }`); a
   * text missing there is shown in English.
   */
  translations: jsonb('translations').$type<CampaignTranslations>().notNull().default({}),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export type DeliveryMode = 'rehearsal' | 'live';

/** A campaign's title, summary and petition text in one language. */
export interface CampaignTexts {
  title?: string;
  summary?: string;
  petitionText?: string;
}

export type CampaignTranslations = Partial<Record<Exclude<Language, 'en'>, CampaignTexts>>;

export type TargetOffice =
  'us-house' | 'us-senate' | 'state-upper' | 'state-lower' | 'governor' | 'custom';

export const signatures = pgTable(
  'signatures',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    /**
     * Sealed (src/privacy/field-encryption.ts): the email address, normalised (trimmed and
     * lower-cased), the name and the street address. Only the application opens them.
     */
    email: bytea('email').notNull(),
    /** The keyed hash of the normalised email address: unique per campaign, and how an address is found. */
    emailHash: bytea('email_hash').notNull(),
    /** The keyed hash of the address's domain, for the burst report. */
    emailDomainHash: bytea('email_domain_hash').notNull(),
    name: bytea('name').notNull(),
    zip: text('zip').notNull(),
    address: bytea('address'),
    state: text('state'),
    /**
     * Census GEOIDs of the signer's districts, filled by the tally worker from the ZIP once
     * representative data exists (for a ZIP that spans districts: the one at its centre).
     */
    congressionalDistrict: text('congressional_district'),
    stateUpperDistrict: text('state_upper_district'),
    stateLowerDistrict: text('state_lower_district'),
    source: text('source'),
    optIn: boolean('opt_in').notNull().default(false),
    /** HMAC of the client IP with the platform secret; the IP itself is never stored. */
    ipHash: text('ip_hash'),
    /** Set by the tally worker in the same transaction that adds this signature to the counts. */
    tallied: boolean('tallied').notNull().default(false),
    /** When the signer confirmed their email address from the verification link; none until then. */
    verifiedAt: timestamp('verified_at', { withTimezone: true }),
    /** The signer is owed an email (the signing confirmation, or the verification link): the workers send it. */
    noticePending: boolean('notice_pending').notNull().default(false),
    /** The language the signer signed in: their emails are written in it. */
    language: text('language').$type<Language>().notNull().default('en'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('signatures_campaign_email_key').on(table.campaignId, table.emailHash),
    index('signatures_untallied_idx')
      .on(table.campaignId, table.id)
      .where(sql`NOT ${table.tallied}`),
    index('signatures_ip_hash_expiry_idx')
      .on(table.createdAt)
      .where(sql`${table.ipHash} IS NOT NULL`),
    index('signatures_notice_pending_idx')
      .on(table.campaignId, table.id)
      .where(sql`${table.noticePending}`),
    // The staff burst report reads one campaign's signatures in a time range.
    index('signatures_campaign_created_idx').on(table.campaignId, table.createdAt),
    // The partner API's incremental sync in a campaign that asks signers to confirm (`modified_date gt`): untouched by inserts.
    index('signatures_campaign_verified_idx')
      .on(table.campaignId, table.verifiedAt)
      .where(sql`${table.verifiedAt} IS NOT NULL`),
  ],
);

export type ConsentScope = 'campaign' | 'partner';

/**
 * A supporter's agreement to hear from the campaign itself or from one partner organisation: the
 * words they agreed to, exactly as shown, when, through which door, and when they withdrew it.
 */
export const consents = pgTable(
  'consents',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    signatureId: bigint('signature_id', { mode: 'number' })
      .notNull()
      .references(() => signatures.id, { onDelete: 'cascade' }),
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    scope: text('scope').$type<ConsentScope>().notNull(),
    /** The partner, for `partner` consents (none once staff removed the partner: the wording still names it). */
    partnerId: integer('partner_id').references(() => partners.id, { onDelete: 'set null' }),
    wording: text('wording').notNull(),
    /** `form` (our page) or `api` (a partner's embed, through the JSON API). */
    channel: text('channel').$type<'form' | 'api'>().notNull(),
    givenAt: timestamp('given_at', { withTimezone: true }).notNull().defaultNow(),
    withdrawnAt: timestamp('withdrawn_at', { withTimezone: true }),
  },
  (table) => [
    index('consents_signature_idx').on(table.signatureId),
    index('consents_campaign_idx').on(table.campaignId, table.scope, table.partnerId),
  ],
);

/**
 * Orders changes to the counts: each tally batch and rebuild stamps the rows it writes with the
 * next value. They run one at a time per campaign (under its row lock), so a higher version is
 * always newer counts; the public counter's cache never takes an older version over a newer one.
 */
export const countsVersion = pgSequence('signature_counts_version_seq');

export const COUNT_DIMENSIONS = [
  'total',
  'verified',
  'state',
  'congressional',
  'state-upper',
  'state-lower',
  'source',
  'day',
] as const;

/**
 * Signature counts per campaign along one dimension: `total` (key ''), `verified` (key '': signers
 * who confirmed their email), `state` (USPS code), `congressional`, `state-upper` and `state-lower`
 * (district GEOIDs), `source` (partner code) and `day` (UTC date, `YYYY-MM-DD`). Written by the
 * tally worker, the rebuild command, and the privacy actions (a verification, a "this wasn't me");
 * read for the public counter and staff reports.
 */
export const signatureCounts = pgTable(
  'signature_counts',
  {
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    dimension: text('dimension', { enum: COUNT_DIMENSIONS }).notNull(),
    key: text('key').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
    version: bigint('version', { mode: 'number' }).notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.campaignId, table.dimension, table.key] })],
);

/**
 * What the signatures erased at their signers' request or by the retention purge contributed to
 * the counts, along the same dimensions. The rows themselves are gone; a rebuild adds these to
 * what it counts from the remaining signatures, so an erasure never lowers a count.
 */
export const erasedSignatureCounts = pgTable(
  'erased_signature_counts',
  {
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    dimension: text('dimension', { enum: COUNT_DIMENSIONS }).notNull(),
    key: text('key').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.campaignId, table.dimension, table.key] })],
);

export type Campaign = typeof campaigns.$inferSelect;

/** Where an imported record came from: publisher, file and the date of the publisher's snapshot. */
export interface DataSource {
  name: string;
  publisher: string;
  url: string;
  snapshotDate: string | null;
}

/**
 * One import of the public representative data. Exactly one snapshot is active; an import writes
 * a whole new snapshot and switches to it in one transaction, so readers see one or the other.
 */
export const repSnapshots = pgTable(
  'rep_snapshots',
  {
    id: serial('id').primaryKey(),
    active: boolean('active').notNull().default(false),
    /** SHA-256 over the input files: importing the same files again changes nothing. */
    contentHash: text('content_hash').notNull(),
    sources: jsonb('sources').$type<DataSource[]>().notNull(),
    counts: jsonb('counts').$type<Record<string, number>>().notNull(),
    /**
     * The congressional districts' map, projected and simplified once at import (see
     * graphics/district-map.ts); none for a snapshot imported before it was kept here.
     */
    mapOutline: jsonb('map_outline').$type<{ version: number }>(),
    importedAt: timestamp('imported_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('rep_snapshots_one_active')
      .on(table.active)
      .where(sql`${table.active}`),
  ],
);

export type OfficeKind = 'us-house' | 'us-senate' | 'state-upper' | 'state-lower' | 'governor';

/** How an official can be reached: the channels are those the publishers list. */
export type Channel =
  | { type: 'email'; address: string }
  | { type: 'contact-form'; url: string }
  | { type: 'phone'; number: string; label?: string }
  | { type: 'postal'; address: string; label?: string }
  | { type: 'cwc'; office: string }
  | { type: 'website'; url: string };

export const repOfficials = pgTable(
  'rep_officials',
  {
    snapshotId: integer('snapshot_id')
      .notNull()
      .references(() => repSnapshots.id, { onDelete: 'cascade' }),
    /** The publisher's stable id: bioguide for Congress, `ocd-person/…` for Open States. */
    personId: text('person_id').notNull(),
    office: text('office').$type<OfficeKind>().notNull(),
    state: text('state').notNull(),
    /** As the publisher writes it: `12`, `0` (at-large), `7th Hampden`, `At-Large`; none for statewide offices. */
    district: text('district'),
    name: text('name').notNull(),
    party: text('party'),
    ids: jsonb('ids').$type<Record<string, string>>().notNull(),
    channels: jsonb('channels').$type<Channel[]>().notNull(),
    /** The last day of the official's current term as the publisher records it (`YYYY-MM-DD`), when it does. */
    termEnd: text('term_end'),
    /** Index into the snapshot's `sources`. */
    source: integer('source').notNull(),
  },
  (table) => [primaryKey({ columns: [table.snapshotId, table.office, table.personId] })],
);

export type DistrictLayer = 'cd' | 'sldu' | 'sldl';

export const repDistricts = pgTable(
  'rep_districts',
  {
    snapshotId: integer('snapshot_id')
      .notNull()
      .references(() => repSnapshots.id, { onDelete: 'cascade' }),
    layer: text('layer').$type<DistrictLayer>().notNull(),
    /** Census GEOID: state FIPS + district code (`0612`, `25D25`). */
    geoid: text('geoid').notNull(),
    state: text('state').notNull(),
    name: text('name').notNull(),
    /** The publisher's seat names for this district (several for Idaho's A/B seats): `chamber:district`. */
    seats: jsonb('seats').$type<Array<{ chamber: string; district: string }>>().notNull(),
    /** Polygons, compactly encoded (see representatives/geometry.ts); none for a district without a shape. */
    geometry: bytea('geometry'),
  },
  (table) => [primaryKey({ columns: [table.snapshotId, table.layer, table.geoid] })],
);

/** Every district each ZIP code tabulation area touches, and the ones at its centre. */
export const repZctas = pgTable(
  'rep_zctas',
  {
    snapshotId: integer('snapshot_id')
      .notNull()
      .references(() => repSnapshots.id, { onDelete: 'cascade' }),
    zcta: text('zcta').notNull(),
    cd: text('cd').array().notNull(),
    sldu: text('sldu').array().notNull(),
    sldl: text('sldl').array().notNull(),
    centroidCd: text('centroid_cd'),
    centroidSldu: text('centroid_sldu'),
    centroidSldl: text('centroid_sldl'),
    lat: real('lat'),
    lng: real('lng'),
  },
  (table) => [primaryKey({ columns: [table.snapshotId, table.zcta] })],
);

export type CustomTargetScope = 'everyone' | 'state' | 'city' | 'zips' | 'district';

/**
 * A campaign's own targets (a city council, a police commission), imported from CSV in named
 * lists. Each says whom it represents; the lookup returns those matching the constituent.
 */
export const customTargets = pgTable(
  'custom_targets',
  {
    id: serial('id').primaryKey(),
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    list: text('list').notNull(),
    name: text('name').notNull(),
    title: text('title').notNull(),
    email: text('email'),
    phone: text('phone'),
    postalAddress: text('postal_address'),
    scope: text('scope').$type<CustomTargetScope>().notNull(),
    /** USPS code, for `state` and `city` scopes. */
    scopeState: text('scope_state'),
    /** Lower-cased city name, for `city`. */
    scopeCity: text('scope_city'),
    /** For `zips`. */
    scopeZips: text('scope_zips').array(),
    /** For `district`: the layer and GEOID. */
    scopeLayer: text('scope_layer').$type<DistrictLayer>(),
    scopeGeoid: text('scope_geoid'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('custom_targets_campaign_idx').on(table.campaignId, table.list)],
);

export type CustomTarget = typeof customTargets.$inferSelect;

/** What a campaign lets supporters change in their letters. */
export interface LetterLimits {
  subjectMax: number;
  bodyMax: number;
  lockedOpening?: string;
  lockedClosing?: string;
}

/**
 * One supporter's "write to your lawmakers" action: who wrote (the same person also signs the
 * petition), from where, and the capability token of their private status page.
 */
export const letterActions = pgTable(
  'letter_actions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    /** Random, unguessable: the private status URL is `/letters/<token>`. */
    statusToken: text('status_token').notNull().unique(),
    /** Sealed, like the signature's: the name, the email address (normalised), the city, the street address and the note. */
    name: bytea('name').notNull(),
    /** Sealed: the honorific CWC requires (one of CWC's list), when a letter goes through CWC. */
    prefix: bytea('prefix'),
    email: bytea('email').notNull(),
    /** The keyed hash of the normalised email address. */
    emailHash: bytea('email_hash').notNull(),
    zip: text('zip').notNull(),
    city: bytea('city'),
    state: text('state'),
    address: bytea('address'),
    note: bytea('note'),
    congressionalDistrict: text('congressional_district'),
    stateUpperDistrict: text('state_upper_district'),
    stateLowerDistrict: text('state_lower_district'),
    /** Email the supporter the private link to their letters (`wantsCopy`: once it held a copy of them). */
    wantsCopy: boolean('wants_copy').notNull().default(true),
    confirmationSentAt: timestamp('confirmation_sent_at', { withTimezone: true }),
    /**
     * HMAC of the request id the client sent (`requestId`), so a retried or double-clicked request
     * answers with this action instead of writing again; only the holder of the id can get it.
     */
    requestKey: text('request_key'),
    /** The language the supporter wrote in: their letters' template and their emails are in it. */
    language: text('language').$type<Language>().notNull().default('en'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('letter_actions_campaign_idx').on(table.campaignId, table.createdAt),
    index('letter_actions_email_idx').on(table.emailHash),
    uniqueIndex('letter_actions_request_key').on(table.campaignId, table.requestKey),
  ],
);

/**
 * `hand-delivery`: waiting for staff to deliver it by hand; `held`: its office changed hands after it
 * was written, so it waits for staff (released or cancelled) rather than go to a departed member;
 * `self-sent`: the supporter reported sending it themselves (through the office's contact form or
 * their own mail), counted apart from the letters we delivered; `rehearsed`: written in a
 * rehearsal, it went to the rehearsal address, CWC's validation endpoint or a file, never to the
 * office, and is counted apart from the letters delivered.
 */
export type LetterStatus =
  | 'queued'
  | 'sending'
  | 'retrying'
  | 'delivered'
  | 'rehearsed'
  | 'failed'
  | 'hand-delivery'
  | 'held'
  | 'self-sent';
export type DeliveryChannel = 'email' | 'cwc' | 'hand';
/**
 * How a delivered letter was delivered: to the `office` (email or CWC), in a `rehearsal` (to the
 * campaign's rehearsal address, or CWC's validation endpoint), to a `file` (no SMTP_URL: written
 * under DATA_DIR/mail, not sent), or by `hand` (staff marked its packet delivered).
 */
export type DeliveredAs = 'office' | 'rehearsal' | 'file' | 'hand';

/** Where a supporter can send a letter themselves: the office's web contact form, its email address. */
export interface SelfSendOptions {
  contactForm?: string;
  email?: string;
}

/** One letter to one target; also the delivery outbox row, keyed for idempotency by (action, target). */
export const letters = pgTable(
  'letters',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    actionId: bigint('action_id', { mode: 'number' })
      .notNull()
      .references(() => letterActions.id, { onDelete: 'cascade' }),
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    /** `<action>:<target>`: a letter is written, queued and sent once per action and target. */
    idempotencyKey: text('idempotency_key').notNull().unique(),
    /** `us-house:<bioguide>`, `state-upper:<ocd-person>`, `custom:<id>`. */
    targetKey: text('target_key').notNull(),
    office: text('office').notNull(),
    targetName: text('target_name').notNull(),
    targetTitle: text('target_title').notNull(),
    targetState: text('target_state'),
    targetDistrict: text('target_district'),
    channel: text('channel').$type<DeliveryChannel>().notNull(),
    /** The email address, or the CWC office code; none for hand delivery. */
    channelAddress: text('channel_address'),
    /** Sealed: a letter carries its writer's name, city and words. */
    subject: bytea('subject').notNull(),
    body: bytea('body').notNull(),
    status: text('status').$type<LetterStatus>().notNull(),
    /**
     * The status the letter is counted under in `letter_counts`: its status, except while it is
     * `sending`, a moment too short to count, when it stays counted as it was (queued or retrying).
     */
    countedStatus: text('counted_status').$type<LetterStatus>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    /** When it reached the office (by us, by hand: the day staff gave, or as reported by the supporter). */
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    /** How it was delivered, once it is (see DeliveredAs). */
    deliveredAs: text('delivered_as').$type<DeliveredAs>(),
    /** The hand-delivery packet it was printed in, once staff prepared one for its office. */
    packetId: bigint('packet_id', { mode: 'number' }).references(() => handPackets.id, {
      onDelete: 'set null',
    }),
    /** The office's own ways in, as the data had them when the letter was written, for the supporter to send it themselves. */
    selfSend: jsonb('self_send').$type<SelfSendOptions>(),
    /**
     * Written while its campaign rehearsed: it is sent as a rehearsal whatever the campaign's mode
     * when it goes out, so going live never sends a test letter to an office, and going back to
     * rehearsal never turns a real letter into a test.
     */
    rehearsal: boolean('rehearsal').notNull().default(false),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('letters_action_idx').on(table.actionId),
    index('letters_pending_idx')
      .on(table.status, table.updatedAt)
      .where(sql`${table.status} IN ('queued', 'sending', 'retrying')`),
    // The staff delivery page: letters waiting for hand delivery, held or failed, by office.
    index('letters_staff_attention_idx')
      .on(table.campaignId, table.status, table.targetKey, table.id)
      .where(sql`${table.status} IN ('hand-delivery', 'held', 'failed')`),
    index('letters_packet_idx')
      .on(table.packetId)
      .where(sql`${table.packetId} IS NOT NULL`),
    // The partner API's incremental sync of outreaches (`modified_date gt`): letters whose status changed.
    index('letters_campaign_updated_idx').on(table.campaignId, table.updatedAt),
  ],
);

/**
 * A bundle of letters to one office that staff print and deliver by hand: the letters waiting when
 * it was prepared. Marking it delivered moves those of its letters still waiting, once.
 */
export const handPackets = pgTable(
  'hand_packets',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    targetKey: text('target_key').notNull(),
    targetName: text('target_name').notNull(),
    targetTitle: text('target_title').notNull(),
    letters: integer('letters').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    createdBy: integer('created_by').references(() => staffAccounts.id, { onDelete: 'set null' }),
    /** The day staff say the packet was handed to the office. */
    deliveredOn: text('delivered_on'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    deliveredBy: integer('delivered_by').references(() => staffAccounts.id, {
      onDelete: 'set null',
    }),
    note: text('note'),
  },
  (table) => [index('hand_packets_campaign_idx').on(table.campaignId, table.targetKey, table.id)],
);

/** Every delivery attempt, recorded before the send and completed after it. */
export const deliveryAttempts = pgTable(
  'delivery_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    letterId: bigint('letter_id', { mode: 'number' })
      .notNull()
      .references(() => letters.id, { onDelete: 'cascade' }),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** Unset while the send is in flight; `interrupted` when the worker died during it. */
    outcome: text('outcome').$type<'delivered' | 'retry' | 'failed' | 'interrupted'>(),
    error: text('error'),
  },
  (table) => [index('delivery_attempts_letter_idx').on(table.letterId)],
);

/** Letters per campaign by target and by congressional district, and by status; fed by the workers. */
export const letterCounts = pgTable(
  'letter_counts',
  {
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    dimension: text('dimension', { enum: ['target', 'congressional'] }).notNull(),
    key: text('key').notNull(),
    status: text('status').$type<LetterStatus>().notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.campaignId, table.dimension, table.key, table.status] }),
  ],
);

/** A campaign's own letter template for one target level and language, in place of the one in `templates/letters`. */
export const letterTemplates = pgTable(
  'letter_templates',
  {
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    level: text('level', { enum: ['federal', 'state', 'local'] }).notNull(),
    language: text('language').$type<Language>().notNull().default('en'),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.campaignId, table.level, table.language] })],
);

/**
 * A partner organisation of a campaign: the source code its embed and links carry, and the sites
 * allowed to embed the petition (added to PARTNER_ORIGINS for the JSON API's CORS).
 */
export const partners = pgTable(
  'partners',
  {
    id: serial('id').primaryKey(),
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    sourceCode: text('source_code').notNull(),
    origins: text('origins')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('partners_campaign_source_key').on(table.campaignId, table.sourceCode)],
);

export type Partner = typeof partners.$inferSelect;

/**
 * A check value of each key the database has seen (src/privacy/key-checks.ts): key id 0 is the
 * lookup hash key, the others ENCRYPTION_KEYS' ids. A process whose keys do not match refuses to start.
 */
export const encryptionKeyChecks = pgTable('encryption_key_checks', {
  keyId: integer('key_id').primaryKey(),
  /** HMAC-SHA-256 of a fixed text under the key, truncated: it reveals nothing of the key. */
  checkValue: bytea('check_value').notNull(),
  /** The lookup key's email hashes are being made again (`keys:rotate --reindex`): no process starts meanwhile. */
  reindexing: boolean('reindexing').notNull().default(false),
  /** `keys:rotate` found no value sealed with this key: a process may run without it. */
  retired: boolean('retired').notNull().default(false),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** `partner`: a partner organisation's own account, bound to that partner (`partner_id`); it sees only that partner's supporters. */
export type StaffRole = 'admin' | 'organizer' | 'viewer' | 'partner';
export type StaffStatus = 'invited' | 'active' | 'disabled';

/** A campaign staff account. An invited account has no password until its invitation is taken up. */
export const staffAccounts = pgTable('staff_accounts', {
  id: serial('id').primaryKey(),
  /** Normalised: trimmed and lower-cased. */
  email: text('email').notNull().unique(),
  name: text('name').notNull().default(''),
  role: text('role').$type<StaffRole>().notNull(),
  status: text('status').$type<StaffStatus>().notNull(),
  /** Argon2id, in its PHC string form. */
  passwordHash: text('password_hash'),
  /** SHA-256 of the invitation token; the token itself is only in the link. */
  inviteTokenHash: text('invite_token_hash').unique(),
  inviteExpiresAt: timestamp('invite_expires_at', { withTimezone: true }),
  /** Failed logins in a row; reaching the limit locks the account until `locked_until`. */
  failedLogins: integer('failed_logins').notNull().default(0),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
  /** Sessions begun before this end: set on a password change, a disable or a role change. */
  sessionsValidAfter: timestamp('sessions_valid_after', { withTimezone: true })
    .notNull()
    .defaultNow(),
  lastLoginAt: timestamp('last_login_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  /** The partner organisation a `partner` account belongs to (none for other roles; none once staff removed the partner: it then sees nothing). */
  partnerId: integer('partner_id').references(() => partners.id, { onDelete: 'set null' }),
});

export type StaffAccount = typeof staffAccounts.$inferSelect;

/** What staff did: logins, edits, exports, account changes. Only admins read it. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    staffId: integer('staff_id').references(() => staffAccounts.id, { onDelete: 'set null' }),
    /** Who acted, as they were known then: an account's email, or `command line`. */
    actor: text('actor').notNull(),
    /** `login`, `login-failed`, `campaign.update`, `export.signatures`, `account.invite`, ... */
    action: text('action').notNull(),
    campaignId: integer('campaign_id').references(() => campaigns.id, { onDelete: 'set null' }),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (table) => [index('audit_log_at_idx').on(table.at)],
);

export type ExportKind =
  'signatures' | 'congressional' | 'state-upper' | 'state-lower' | 'state' | 'source' | 'letters';
export type ExportStatus = 'queued' | 'running' | 'ready' | 'failed' | 'expired';

/** A staff export: streamed at once when small, otherwise built by a job into a file that expires. */
export const staffExports = pgTable(
  'staff_exports',
  {
    /** Random, and part of the download link. */
    id: text('id').primaryKey(),
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    staffId: integer('staff_id').references(() => staffAccounts.id, { onDelete: 'set null' }),
    kind: text('kind').$type<ExportKind>().notNull(),
    status: text('status').$type<ExportStatus>().notNull(),
    rowsTotal: bigint('rows_total', { mode: 'number' }),
    rowsWritten: bigint('rows_written', { mode: 'number' }).notNull().default(0),
    bytes: bigint('bytes', { mode: 'number' }),
    error: text('error'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
  },
  (table) => [index('staff_exports_campaign_idx').on(table.campaignId, table.createdAt)],
);

export type StaffExport = typeof staffExports.$inferSelect;

export type RepChangeKind = 'added' | 'gone' | 'vacant' | 'filled' | 'contact';

/**
 * What a representative data import changed, office by office, against the snapshot it replaced:
 * members added and gone, seats left vacant or filled, contact details changed.
 */
export const repChanges = pgTable(
  'rep_changes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    /** The snapshot that brought the change (snapshots are replaced, so not a reference). */
    snapshotId: integer('snapshot_id').notNull(),
    kind: text('kind').$type<RepChangeKind>().notNull(),
    office: text('office').$type<OfficeKind>().notNull(),
    state: text('state').notNull(),
    district: text('district'),
    personId: text('person_id'),
    name: text('name'),
    /** What changed, for `contact` (which channels), and the person before, for `filled`/`gone`. */
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (table) => [index('rep_changes_at_idx').on(table.at)],
);

/** Each scheduled or manual refresh of the representative data: when, from where, and what came of it. */
export const repRefreshes = pgTable(
  'rep_refreshes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** `imported`, `unchanged` or `failed`; none while it runs. */
    outcome: text('outcome').$type<'imported' | 'unchanged' | 'failed'>(),
    /** The publishers' addresses, or the mirror's. */
    source: text('source').notNull(),
    snapshotId: integer('snapshot_id'),
    /** Why it failed, in words that name no secret. */
    error: text('error'),
  },
  (table) => [index('rep_refreshes_started_idx').on(table.startedAt)],
);

export type ApiScope = 'read' | 'sign';

/**
 * A token for the OSDI API (`OSDI-API-Token`). Only its SHA-256 is kept; the token is shown once.
 * Bound to a campaign (or to every campaign, for none) and, for a partner's token, to the partner:
 * it then sees only the supporters who agreed to hear from that partner.
 */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    /** The token's first characters, to tell tokens apart in lists (far too few to use it). */
    hint: text('hint').notNull(),
    campaignId: integer('campaign_id').references(() => campaigns.id, { onDelete: 'cascade' }),
    partnerId: integer('partner_id').references(() => partners.id, { onDelete: 'cascade' }),
    scopes: text('scopes').array().$type<ApiScope[]>().notNull(),
    createdBy: integer('created_by').references(() => staffAccounts.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (table) => [index('api_tokens_campaign_idx').on(table.campaignId)],
);

export type ApiToken = typeof apiTokens.$inferSelect;

/** Requests per token and UTC day, added up by each web process; summarised into the audit log once the day is over. */
export const apiTokenUsage = pgTable(
  'api_token_usage',
  {
    tokenId: integer('token_id')
      .notNull()
      .references(() => apiTokens.id, { onDelete: 'cascade' }),
    /** `YYYY-MM-DD`, UTC. */
    day: text('day').notNull(),
    requests: bigint('requests', { mode: 'number' }).notNull().default(0),
    /** Signatures the token's holder sent through the record signature helper (each answered like a signature). */
    signatures: bigint('signatures', { mode: 'number' }).notNull().default(0),
    summarized: boolean('summarized').notNull().default(false),
  },
  (table) => [primaryKey({ columns: [table.tokenId, table.day] })],
);

export type WebhookEvent = 'signature' | 'outreach' | 'person.erased';
/** `webhook`: signed POSTs to a receiver's URL; `action-network`: each signature posted to a partner's Action Network petition. */
export type WebhookKind = 'webhook' | 'action-network';

/**
 * Where a campaign's (or one partner's) supporters' actions go as they happen: a webhook receiver,
 * or a partner's Action Network petition. Also the delivery state: the batch in flight (its
 * `webhook-id`), its attempts, when the next is due, and how the last one went.
 */
export const webhookSubscriptions = pgTable(
  'webhook_subscriptions',
  {
    id: serial('id').primaryKey(),
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    /** A partner's subscription sees only the supporters who agreed to hear from that partner. */
    partnerId: integer('partner_id').references(() => partners.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<WebhookKind>().notNull(),
    /** The receiver's URL; for Action Network, its record signature helper for the partner's petition. */
    url: text('url').notNull(),
    events: text('events').array().$type<WebhookEvent[]>().notNull(),
    /** Sealed: the signing secret (`whsec_…`), or the partner's Action Network API key. */
    secret: bytea('secret').notNull(),
    /** Action Network: the tags added to each person posted. */
    tags: text('tags')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    status: text('status').$type<'active' | 'disabled'>().notNull().default('active'),
    disabledReason: text('disabled_reason'),
    createdBy: integer('created_by').references(() => staffAccounts.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** The `webhook-id` of the batch being sent, kept across its retries, and the ids of its events. */
    messageId: text('message_id'),
    batchItems: bigint('batch_items', { mode: 'number' }).array(),
    attempts: integer('attempts').notNull().default(0),
    /** Since when every attempt has failed; past 24 hours the subscription is disabled. */
    failingSince: timestamp('failing_since', { withTimezone: true }),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    /** A worker is sending until then (its lease); another takes over after. */
    sendingUntil: timestamp('sending_until', { withTimezone: true }),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true }),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
  },
  (table) => [index('webhook_subscriptions_campaign_idx').on(table.campaignId, table.status)],
);

export type WebhookSubscription = typeof webhookSubscriptions.$inferSelect;

/**
 * The outbox of each subscription: one row per event to send, written in the transaction that
 * made the event. A signature's or letter action's row refers to it without a foreign key: it is
 * read when sent, and one erased meanwhile is simply not found (and not sent); the row holds nothing
 * of the person itself. Rows are taken into a batch by their ids (the subscription's
 * `batch_items`), so forming a batch writes one row, not a hundred.
 */
export const webhookItems = pgTable(
  'webhook_items',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    subscriptionId: integer('subscription_id')
      .notNull()
      .references(() => webhookSubscriptions.id, { onDelete: 'cascade' }),
    event: text('event').$type<WebhookEvent>().notNull(),
    signatureId: bigint('signature_id', { mode: 'number' }),
    letterActionId: bigint('letter_action_id', { mode: 'number' }),
    /** Sealed JSON, for `person.erased` (what the receiver may be told of the erased person). */
    payload: bytea('payload'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('webhook_items_subscription_idx').on(table.subscriptionId, table.id)],
);

/** Every delivery attempt of a subscription: when, how many items, what the receiver answered. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    subscriptionId: integer('subscription_id')
      .notNull()
      .references(() => webhookSubscriptions.id, { onDelete: 'cascade' }),
    messageId: text('message_id').notNull(),
    items: integer('items').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    durationMs: integer('duration_ms').notNull(),
    /** The receiver's HTTP status; none when no answer came (refused, timed out, blocked address). */
    status: integer('status'),
    outcome: text('outcome').$type<'delivered' | 'failed'>().notNull(),
    error: text('error'),
  },
  (table) => [index('webhook_attempts_subscription_idx').on(table.subscriptionId, table.id)],
);

/**
 * The signatures a partner's Action Network petition holds from us: our signature's identifier and
 * Action Network's address for it, so an erasure can be forwarded (see README, "Push to Action Network").
 */
export const actionNetworkRecords = pgTable(
  'action_network_records',
  {
    subscriptionId: integer('subscription_id')
      .notNull()
      .references(() => webhookSubscriptions.id, { onDelete: 'cascade' }),
    /** Our identifier of the signature (see src/osdi/identifiers.ts): it names no one. */
    signatureRef: text('signature_ref').notNull(),
    /** Action Network's URL of the signature it recorded. */
    remoteUrl: text('remote_url').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.subscriptionId, table.signatureRef] })],
);

// ---------------------------------------------------------------------------------------------
// Where the ban stands: officials' stances, bills, places with bans, and calls (src/stances).

export type Stance = 'champion' | 'supports' | 'undecided' | 'opposes';
export const STANCES: readonly Stance[] = ['champion', 'supports', 'undecided', 'opposes'];
export type StanceSourceKind = 'bill' | 'vote' | 'statement' | 'other';

/**
 * An official's stance on the ban, per campaign: keyed by the publisher's id of the person (a
 * bioguide id, an Open States `ocd-person/…` id) or `custom:<id>` for one of the campaign's own
 * targets. A row staff wrote (`set_by_staff`) stands; the others follow from the bills the person
 * sponsors, and are written again whenever the campaign's bills change.
 */
export const officialStances = pgTable(
  'official_stances',
  {
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    personKey: text('person_key').notNull(),
    stance: text('stance').$type<Stance>().notNull(),
    sourceKind: text('source_kind').$type<StanceSourceKind>().notNull(),
    /** A link to the bill, the vote record or the statement. */
    sourceUrl: text('source_url'),
    /** What the source says, in a line ("Sponsored S.B. 113", "Voted no on the 2025 ban"). */
    sourceText: text('source_text'),
    /** For a stance that follows from a bill: the bill. */
    billId: integer('bill_id').references(() => banBills.id, { onDelete: 'cascade' }),
    /** The day of the source (`YYYY-MM-DD`). */
    statedOn: text('stated_on'),
    setByStaff: boolean('set_by_staff').notNull().default(true),
    /** Shown on the public scorecard and in the letter and call pages. */
    published: boolean('published').notNull().default(false),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.campaignId, table.personKey] })],
);

export type OfficialStance = typeof officialStances.$inferSelect;

export type BillStatus = 'introduced' | 'in-committee' | 'passed-chamber' | 'enacted' | 'failed';

/** A bill that would ban (or keep) police facial recognition, and who sponsors it (person keys as above). */
export const banBills = pgTable(
  'ban_bills',
  {
    id: serial('id').primaryKey(),
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    /** `US` for Congress, a USPS state code for a legislature, or a city or county name. */
    jurisdiction: text('jurisdiction').notNull(),
    number: text('number').notNull(),
    title: text('title').notNull(),
    status: text('status').$type<BillStatus>().notNull(),
    url: text('url'),
    sponsors: text('sponsors')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    published: boolean('published').notNull().default(false),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('ban_bills_campaign_number_key').on(
      table.campaignId,
      table.jurisdiction,
      table.number,
    ),
  ],
);

export type BanBill = typeof banBills.$inferSelect;

export type BanPlaceKind = 'city' | 'county' | 'state';

/** A place where a ban has passed: a city, a county or a state, with the day and a link. */
export const banPlaces = pgTable(
  'ban_places',
  {
    id: serial('id').primaryKey(),
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<BanPlaceKind>().notNull(),
    name: text('name').notNull(),
    /** USPS code. */
    state: text('state').notNull(),
    /** The day the ban passed (`YYYY-MM-DD`). */
    passedOn: text('passed_on').notNull(),
    url: text('url'),
    /** A ZIP code (ZCTA) in a city or county, where the scorecard's map puts its marker. */
    zip: text('zip'),
    published: boolean('published').notNull().default(false),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('ban_places_campaign_place_key').on(
      table.campaignId,
      table.kind,
      table.state,
      table.name,
    ),
  ],
);

export type BanPlace = typeof banPlaces.$inferSelect;

/**
 * A campaign's letter template for one level, stance and language: a thank-you to champions, a
 * push to the undecided. A stance without one uses the level's template (`letter_templates`).
 */
export const stanceLetterTemplates = pgTable(
  'stance_letter_templates',
  {
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    level: text('level', { enum: ['federal', 'state', 'local'] }).notNull(),
    stance: text('stance').$type<Stance>().notNull(),
    language: text('language').$type<Language>().notNull().default('en'),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.campaignId, table.level, table.stance, table.language] }),
  ],
);

/** `any`: the level's script, for officials of no recorded stance or a stance without its own. */
export type ScriptStance = Stance | 'any';

/** What a caller says to an office: per level, stance and language, written like a letter template. */
export const callScripts = pgTable(
  'call_scripts',
  {
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    level: text('level', { enum: ['federal', 'state', 'local'] }).notNull(),
    stance: text('stance').$type<ScriptStance>().notNull(),
    language: text('language').$type<Language>().notNull().default('en'),
    body: text('body').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.campaignId, table.level, table.stance, table.language] }),
  ],
);

export type CallOutcome = 'talked' | 'voicemail' | 'no-answer' | 'did-not-call';
export const CALL_OUTCOMES: readonly CallOutcome[] = [
  'talked',
  'voicemail',
  'no-answer',
  'did-not-call',
];

/**
 * A supporter's report of one call to one office: which office, how it went, and the caller's
 * districts (for the counts per district). Nothing of the caller: no phone number, no name.
 */
export const callReports = pgTable(
  'call_reports',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    /** As letters' `target_key`: `us-house:<bioguide>`, `state-upper:<ocd-person>`, `custom:<id>`. */
    targetKey: text('target_key').notNull(),
    office: text('office').notNull(),
    targetName: text('target_name').notNull(),
    targetState: text('target_state'),
    targetDistrict: text('target_district'),
    outcome: text('outcome').$type<CallOutcome>().notNull(),
    /** The caller's districts' GEOIDs, as the lookup found them. */
    congressionalDistrict: text('congressional_district'),
    stateUpperDistrict: text('state_upper_district'),
    stateLowerDistrict: text('state_lower_district'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('call_reports_campaign_target_idx').on(table.campaignId, table.targetKey)],
);
