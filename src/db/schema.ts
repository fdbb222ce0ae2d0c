import { sql } from 'drizzle-orm';
import {
  bigint,
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

export const campaigns = pgTable('campaigns', {
  id: serial('id').primaryKey(),
  slug: text('slug').notNull().unique(),
  title: text('title').notNull(),
  summary: text('summary').notNull(),
  petitionText: text('petition_text').notNull(),
  goal: integer('goal').notNull(),
  status: text('status', { enum: ['open', 'closed'] }).notNull().default('open'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export const signatures = pgTable(
  'signatures',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    /** Normalised: trimmed and lower-cased. Unique per campaign. */
    email: text('email').notNull(),
    name: text('name').notNull(),
    zip: text('zip').notNull(),
    address: text('address'),
    state: text('state'),
    /** Census GEOID of the congressional district, filled once representative data exists. */
    congressionalDistrict: text('congressional_district'),
    source: text('source'),
    optIn: boolean('opt_in').notNull().default(false),
    /** HMAC of the client IP with the platform secret; the IP itself is never stored. */
    ipHash: text('ip_hash'),
    /** Set by the tally worker in the same transaction that adds this signature to the counts. */
    tallied: boolean('tallied').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('signatures_campaign_email_key').on(table.campaignId, table.email),
    index('signatures_untallied_idx').on(table.campaignId, table.id).where(sql`NOT ${table.tallied}`),
    index('signatures_ip_hash_expiry_idx').on(table.createdAt).where(sql`${table.ipHash} IS NOT NULL`),
  ],
);

/**
 * Orders changes to the counts: each tally batch and rebuild stamps the rows it writes with the
 * next value. They run one at a time per campaign (under its row lock), so a higher version is
 * always newer counts; the public counter's cache never takes an older version over a newer one.
 */
export const countsVersion = pgSequence('signature_counts_version_seq');

/**
 * Signature counts per campaign along one dimension: `total` (key ''), `state` (USPS code),
 * `congressional` (district GEOID) and `source` (partner code). Written only by the tally worker
 * and the rebuild command; read for the public counter and staff reports.
 */
export const signatureCounts = pgTable(
  'signature_counts',
  {
    campaignId: integer('campaign_id')
      .notNull()
      .references(() => campaigns.id, { onDelete: 'cascade' }),
    dimension: text('dimension', { enum: ['total', 'state', 'congressional', 'source'] }).notNull(),
    key: text('key').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
    version: bigint('version', { mode: 'number' }).notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.campaignId, table.dimension, table.key] })],
);

export type Campaign = typeof campaigns.$inferSelect;
