import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { campaignsWith, requiresVerificationOf } from '../campaigns/directory';
import { queryRows, type Database } from '../db/client';
import {
  compareAsShown,
  countThenPage,
  rowsWithIds,
  type DateCondition,
  type Listing,
} from '../db/record-pages';
import {
  signatureCounts,
  signatures,
  type CampaignTranslations,
  type ConsentScope,
} from '../db/schema';
import type { sealedSignature } from '../db/sealed-rows';
import type { Language } from '../i18n/translations';

/**
 * The signatures' store: the one module that writes SQL for `signatures`, `signature_counts` and
 * `erased_signature_counts`. Signing (and writing letters, which signs too), tallies,
 * verification, signers' emails, consent withdrawal, erasure and the IP-hash retention call it;
 * raw SQL stays where one statement does the work of many (the tally batch, erasure), and every
 * change to the counts goes through `addToCounts`. The partner API, webhooks' events, partners'
 * exports and numbers and the burst report read signatures through the functions near the end
 * ("Reads for other features"), and "your data" and erasure through the last block ("A person's
 * data"). Signature exports (./signature-exports.ts) are the petitions feature's own.
 */

type Tx = Pick<Database, 'execute'>;

/** A signature's row, as the schema declares it. */
export type SignatureRow = typeof signatures.$inferSelect;

/**
 * The count dimensions of the signatures in `row` (a table or CTE name), computed the same way by
 * the tally batch, the rebuild and erasure. Signatures with no value for a dimension (no state,
 * no district, no source, not verified) add nothing to it; `day` is the UTC date of signing.
 */
const dimensionsOf = (row: string) =>
  sql.raw(`
  (VALUES ('total', ''), ('verified', CASE WHEN ${row}.verified_at IS NOT NULL THEN '' END),
          ('state', ${row}.state), ('congressional', ${row}.congressional_district),
          ('state-upper', ${row}.state_upper_district), ('state-lower', ${row}.state_lower_district),
          ('source', ${row}.source),
          ('day', to_char(${row}.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'))) AS d(dimension, key)`);

/**
 * `(dimension, key, n)` rows: how many of the signatures in `row` (a CTE, or the alias of `from`)
 * that match `where` fall in each count.
 */
const countsOf = (row: string, where: SQL = sql`true`, from = row) => sql`
  SELECT d.dimension, d.key, count(*) AS n
  FROM ${sql.raw(from)} CROSS JOIN LATERAL ${dimensionsOf(row)}
  WHERE d.key IS NOT NULL AND ${where}
  GROUP BY d.dimension, d.key`;

/**
 * The one statement that changes `signature_counts`: adds each `(dimension, key, n)` row of `rows`
 * to the campaign's counts (n may be negative), each row it writes taking the next counts version.
 * The rows are upserted in key order, so two statements changing the same counts lock them in the
 * same order and cannot deadlock. Usable as a CTE of a larger statement.
 */
const addToCounts = (campaignId: number, rows: SQL) => sql`
  INSERT INTO signature_counts AS c (campaign_id, dimension, key, count, version, updated_at)
  SELECT ${campaignId}::int, added.dimension, added.key, added.n, nextval('signature_counts_version_seq'), clock_timestamp()
  FROM (${rows}) AS added(dimension, key, n)
  ORDER BY added.dimension, added.key
  ON CONFLICT (campaign_id, dimension, key)
  DO UPDATE SET count = c.count + EXCLUDED.count, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`;

/** The ids of an array as a subquery. */
export const idList = (ids: number[]) => sql`SELECT unnest(${`{${ids.join(',')}}`}::bigint[])`;

/** What a new signature holds: sealed personal fields and the plain ones. */
export type NewSignature = ReturnType<typeof sealedSignature> &
  Pick<SignatureRow, 'campaignId' | 'zip' | 'state' | 'source' | 'optIn' | 'ipHash'> & {
    language: Language;
    /** The signer is owed an email (a confirmation or the verification link). */
    noticePending: boolean;
  };

export interface NewConsent {
  scope: ConsentScope;
  partnerId: number | null;
  wording: string;
}

/**
 * Inserts a signature, unless its email has signed the campaign already, with the consents its
 * signer gave, in one statement: both are written, or (a repeat) neither. Returns the new
 * signature's id, or undefined for a repeat. `prepared` (the platform's `signatureInsert`, outside
 * a transaction): the signing hot path's same insert, prepared once per connection, used when
 * there are no consents to record.
 */
export async function insertSignature(
  db: Pick<Database, 'execute'>,
  values: NewSignature,
  consents: NewConsent[] = [],
  channel: 'form' | 'api' = 'api',
  prepared?: SignatureInsert,
): Promise<number | undefined> {
  if (consents.length === 0 && prepared) {
    const [row] = await prepared.execute(values);
    return row?.id;
  }
  const [row] = await queryRows<{ id: string | number }>(
    db,
    sql`WITH signed AS (
          INSERT INTO signatures (campaign_id, email, email_hash, email_domain_hash, name, zip, address, state, source, opt_in, ip_hash, notice_pending, language)
          VALUES (${values.campaignId}::int, ${values.email}::bytea, ${values.emailHash}::bytea, ${values.emailDomainHash}::bytea, ${values.name}::bytea,
                  ${values.zip}, ${values.address}::bytea, ${values.state}, ${values.source}, ${values.optIn}, ${values.ipHash}, ${values.noticePending}, ${values.language})
          ON CONFLICT (campaign_id, email_hash) DO NOTHING
          RETURNING id
        ), consented AS (
          INSERT INTO consents (signature_id, campaign_id, scope, partner_id, wording, channel)
          SELECT signed.id, ${values.campaignId}::int, c.scope, c.partner_id, c.wording, ${channel}
          FROM signed CROSS JOIN jsonb_to_recordset(${JSON.stringify(consents.map((consent) => ({ scope: consent.scope, partner_id: consent.partnerId, wording: consent.wording })))}::jsonb)
            AS c(scope text, partner_id int, wording text)
        )
        SELECT id FROM signed`,
  );
  return row ? Number(row.id) : undefined;
}

/**
 * The hot path's one query, built once per platform (on the context as `signatureInsert`) and
 * prepared on each connection: no per-request SQL building.
 */
export type SignatureInsert = ReturnType<typeof prepareSignatureInsert>;

export function prepareSignatureInsert(db: Database) {
  const p = (name: string) => sql.placeholder(name);
  return db
    .insert(signatures)
    .values({
      campaignId: p('campaignId'),
      email: p('email'),
      emailHash: p('emailHash'),
      emailDomainHash: p('emailDomainHash'),
      name: p('name'),
      zip: p('zip'),
      address: p('address'),
      state: p('state'),
      source: p('source'),
      optIn: p('optIn'),
      ipHash: p('ipHash'),
      language: p('language'),
      noticePending: p('noticePending'),
    })
    .onConflictDoNothing({ target: [signatures.campaignId, signatures.emailHash] })
    .returning({ id: signatures.id })
    .prepare('insert_signature');
}

/** A signature's districts (Census GEOIDs), as the tally worker fills them from its ZIP code. */
export interface DistrictAssignment {
  id: number;
  cd: string | null;
  sldu: string | null;
  sldl: string | null;
}

/** Up to `limit` of a campaign's signatures not yet counted, oldest first. */
export function untalliedSignatures(
  db: Pick<Database, 'select'>,
  campaignId: number,
  limit: number,
): Promise<Array<Pick<SignatureRow, 'id' | 'zip'>>> {
  return db
    .select({ id: signatures.id, zip: signatures.zip })
    .from(signatures)
    .where(and(eq(signatures.campaignId, campaignId), eq(signatures.tallied, false)))
    .orderBy(asc(signatures.id))
    .limit(limit);
}

/**
 * Marks these signatures tallied, fills the districts they lack, and adds them to the counts, in
 * one statement; a signature tallied already (by another batch) is skipped. Returns how many were added.
 */
export async function countSignatures(
  tx: Tx,
  campaignId: number,
  assignments: DistrictAssignment[],
): Promise<number> {
  const [result] = await queryRows<{ added: number }>(
    tx,
    sql`
    WITH batch AS (
      UPDATE signatures s SET tallied = true,
        congressional_district = COALESCE(s.congressional_district, a.cd),
        state_upper_district = COALESCE(s.state_upper_district, a.sldu),
        state_lower_district = COALESCE(s.state_lower_district, a.sldl)
      FROM jsonb_to_recordset(${JSON.stringify(assignments)}::jsonb) AS a(id bigint, cd text, sldu text, sldl text)
      WHERE s.id = a.id AND NOT s.tallied
      RETURNING s.state, s.congressional_district, s.state_upper_district, s.state_lower_district, s.source, s.created_at, s.verified_at
    ), applied AS (${addToCounts(campaignId, countsOf('batch'))})
    SELECT count(*)::int AS added FROM batch`,
  );
  return Number(result?.added ?? 0);
}

/** Up to `limit` of a campaign's signatures with no districts (all, or only those not yet counted), after id `after`. */
export function signaturesWithoutDistricts(
  db: Pick<Database, 'select'>,
  campaignId: number,
  which: 'all' | 'untallied',
  after: number,
  limit: number,
): Promise<Array<Pick<SignatureRow, 'id' | 'zip'>>> {
  return db
    .select({ id: signatures.id, zip: signatures.zip })
    .from(signatures)
    .where(
      and(
        eq(signatures.campaignId, campaignId),
        sql`${signatures.congressionalDistrict} IS NULL`,
        which === 'untallied' ? eq(signatures.tallied, false) : undefined,
        sql`${signatures.id} > ${after}::bigint`,
      ),
    )
    .orderBy(asc(signatures.id))
    .limit(limit);
}

/** Gives these signatures their districts, where they have none yet. Returns how many got them. */
export async function fillDistricts(tx: Tx, assignments: DistrictAssignment[]): Promise<number> {
  const [result] = await queryRows<{ filled: number }>(
    tx,
    sql`
    WITH updated AS (
      UPDATE signatures s SET congressional_district = a.cd, state_upper_district = a.sldu, state_lower_district = a.sldl
      FROM jsonb_to_recordset(${JSON.stringify(assignments)}::jsonb) AS a(id bigint, cd text, sldu text, sldl text)
      WHERE s.id = a.id AND a.cd IS NOT NULL AND s.congressional_district IS NULL
      RETURNING 1
    )
    SELECT count(*)::int AS filled FROM updated`,
  );
  return Number(result?.filled ?? 0);
}

/** Campaigns that have signatures not yet in their counts. */
export async function campaignsWithUntallied(
  db: Pick<Database, 'selectDistinct'>,
): Promise<number[]> {
  const rows = await db
    .selectDistinct({ campaignId: signatures.campaignId })
    .from(signatures)
    .where(eq(signatures.tallied, false));
  return rows.map((row) => row.campaignId);
}

/** Marks every signature of the campaign tallied; returns the ids it marked. */
export async function markAllTallied(tx: Tx, campaignId: number): Promise<number[]> {
  const marked = await queryRows<{ id: string | number }>(
    tx,
    sql`UPDATE signatures SET tallied = true WHERE campaign_id = ${campaignId}::int AND NOT tallied RETURNING id`,
  );
  return marked.map((row) => Number(row.id));
}

/**
 * Replaces a campaign's counts with its tallied signatures counted again, plus what erased
 * signatures contributed. Returns the new total. The caller holds the campaign lock.
 */
export async function recountTallied(tx: Tx, campaignId: number): Promise<number> {
  await tx.execute(sql`DELETE FROM signature_counts WHERE campaign_id = ${campaignId}::int`);
  // Only signatures marked tallied: one committed since is left to the next batch, which would
  // otherwise count it a second time.
  await tx.execute(
    addToCounts(
      campaignId,
      sql`
      SELECT counted.dimension, counted.key, sum(counted.n)
      FROM (
        ${countsOf('s', sql`s.campaign_id = ${campaignId}::int AND s.tallied`, 'signatures s')}
        UNION ALL
        SELECT e.dimension, e.key, e.count FROM erased_signature_counts e WHERE e.campaign_id = ${campaignId}::int
      ) AS counted
      GROUP BY counted.dimension, counted.key`,
    ),
  );
  // A total row even at zero, so the counts carry this rebuild's version.
  await tx.execute(addToCounts(campaignId, sql`VALUES ('total', '', 0)`));
  const [total] = await queryRows<{ count: string | number }>(
    tx,
    sql`SELECT count FROM signature_counts WHERE campaign_id = ${campaignId}::int AND dimension = 'total'`,
  );
  return Number(total?.count ?? 0);
}

/** The campaign a signature belongs to, or undefined when it is gone. */
export async function campaignOfSignature(
  db: Pick<Database, 'select'>,
  signatureId: number,
): Promise<number | undefined> {
  const [row] = await db
    .select({ campaignId: signatures.campaignId })
    .from(signatures)
    .where(eq(signatures.id, signatureId));
  return row?.campaignId;
}

/** Deletes a campaign's signature and takes what it counted out of the counts. False when it was gone already. */
export async function deleteSignatureUncounted(
  tx: Tx,
  campaignId: number,
  signatureId: number,
): Promise<boolean> {
  const rows = await queryRows<{ campaign_id: number }>(
    tx,
    sql`WITH gone AS (
          DELETE FROM signatures WHERE id = ${signatureId}::bigint AND campaign_id = ${campaignId}::int RETURNING *
        ), uncounted AS (${addToCounts(
          campaignId,
          sql`SELECT counted.dimension, counted.key, -counted.n FROM (${countsOf('gone', sql`gone.tallied`)}) AS counted`,
        )})
        SELECT campaign_id FROM gone`,
  );
  return rows.length > 0;
}

/** Which of a campaign's signatures to erase: all, or one email address's (by its keyed hash). */
export type SignaturesToErase = 'all' | { emailHash: Uint8Array };

/**
 * Deletes up to `limit` of a campaign's signatures (`which`), keeping
 * what they counted: each adds to `erased_signature_counts` in the same statement, and one not yet
 * tallied is counted now. The caller holds the campaign lock. Returns how many were erased.
 */
export async function eraseSignatureBatch(
  tx: Tx,
  campaignId: number,
  which: SignaturesToErase,
  limit: number,
): Promise<number> {
  const filter = which === 'all' ? sql`true` : sql`email_hash = ${which.emailHash}::bytea`;
  const [result] = await queryRows<{ erased: number }>(
    tx,
    sql`WITH gone AS (
          DELETE FROM signatures s
          WHERE s.id IN (SELECT id FROM signatures WHERE campaign_id = ${campaignId}::int AND ${filter} ORDER BY id LIMIT ${limit}::int)
          RETURNING s.*
        ), kept AS (
          INSERT INTO erased_signature_counts AS e (campaign_id, dimension, key, count)
          SELECT ${campaignId}::int, counted.dimension, counted.key, counted.n
          FROM (${countsOf('gone')}) AS counted
          ORDER BY counted.dimension, counted.key
          ON CONFLICT (campaign_id, dimension, key) DO UPDATE SET count = e.count + EXCLUDED.count
        ), counted AS (${addToCounts(campaignId, countsOf('gone', sql`NOT gone.tallied`))})
        SELECT count(*)::int AS erased FROM gone`,
  );
  return Number(result?.erased ?? 0);
}

/** The campaigns an email address (by its keyed hash) has signed, in id order. */
export async function campaignsSignedBy(
  db: Pick<Database, 'selectDistinct'>,
  emailHash: Uint8Array,
): Promise<number[]> {
  const rows = await db
    .selectDistinct({ campaignId: signatures.campaignId })
    .from(signatures)
    .where(eq(signatures.emailHash, emailHash))
    .orderBy(asc(signatures.campaignId));
  return rows.map((row) => row.campaignId);
}

/** A signature's campaign and whether its signer has confirmed their address; undefined when it is gone. */
export async function verificationOf(
  db: Pick<Database, 'select'>,
  signatureId: number,
): Promise<{ campaignId: number; verified: boolean } | undefined> {
  const [row] = await db
    .select({ campaignId: signatures.campaignId, verifiedAt: signatures.verifiedAt })
    .from(signatures)
    .where(eq(signatures.id, signatureId));
  return row && { campaignId: row.campaignId, verified: row.verifiedAt !== null };
}

/**
 * Marks a signature verified, once, and adds it to the `verified` count when it is counted
 * already (a signature not yet counted is counted as verified by the tally batch that picks it
 * up). The caller holds the campaign lock. Undefined when it was verified already.
 */
export async function markVerified(
  tx: Tx,
  campaignId: number,
  signatureId: number,
): Promise<{ tallied: boolean } | undefined> {
  const [marked] = await queryRows<{ tallied: boolean }>(
    tx,
    sql`UPDATE signatures SET verified_at = now() WHERE id = ${signatureId}::bigint AND verified_at IS NULL RETURNING tallied`,
  );
  if (!marked) return undefined;
  if (marked.tallied) await tx.execute(addToCounts(campaignId, sql`VALUES ('verified', '', 1)`));
  return { tallied: marked.tallied };
}

/** Erases up to `limit` IP hashes of signatures older than `days`. Returns how many. */
export async function eraseIpHashesBatch(tx: Tx, days: number, limit: number): Promise<number> {
  const [result] = await queryRows<{ erased: number }>(
    tx,
    sql`WITH expired AS (
          UPDATE signatures SET ip_hash = NULL
          WHERE id IN (
            SELECT id FROM signatures
            WHERE ip_hash IS NOT NULL AND created_at < now() - make_interval(days => ${days}::int)
            LIMIT ${limit}::int
          )
          RETURNING 1
        )
        SELECT count(*)::int AS erased FROM expired`,
  );
  return Number(result?.erased ?? 0);
}

/** A campaign's counts in the given dimensions (`state`, `congressional`, …), as rows. */
export async function countsInDimensions(
  db: Pick<Database, 'execute'>,
  campaignId: number,
  dimensions: readonly string[],
): Promise<Array<{ dimension: string; key: string; count: number }>> {
  return queryRows<{ dimension: string; key: string; count: number }>(
    db,
    sql`SELECT dimension, key, count::int AS count FROM signature_counts
         WHERE campaign_id = ${campaignId} AND dimension = ANY(${`{${dimensions.join(',')}}`}::text[])`,
  );
}

/** A campaign's counts for the staff reports: totals, and by state, district, source and day. */
export interface CountsReport {
  total: number;
  verified: number;
  state: Record<string, number>;
  congressional: Record<string, number>;
  source: Record<string, number>;
  day: Record<string, number>;
  updatedAt: string | null;
}

/** The campaign's rows of the count table (a primary-key range read), for the staff dashboard. */
export async function readCountsReport(
  db: Pick<Database, 'select'>,
  campaignId: number,
): Promise<CountsReport> {
  const rows = await db
    .select({
      dimension: signatureCounts.dimension,
      key: signatureCounts.key,
      count: signatureCounts.count,
      updatedAt: signatureCounts.updatedAt,
    })
    .from(signatureCounts)
    .where(
      and(
        eq(signatureCounts.campaignId, campaignId),
        inArray(signatureCounts.dimension, [
          'total',
          'verified',
          'state',
          'congressional',
          'source',
          'day',
        ]),
      ),
    );
  const counts: CountsReport = {
    total: 0,
    verified: 0,
    state: {},
    congressional: {},
    source: {},
    day: {},
    updatedAt: null,
  };
  let latest = 0;
  for (const row of rows) {
    const count = Number(row.count);
    latest = Math.max(latest, row.updatedAt.getTime());
    if (row.dimension === 'total') counts.total = count;
    else if (row.dimension === 'verified') counts.verified = count;
    else if (count > 0)
      counts[row.dimension as 'state' | 'congressional' | 'source' | 'day'][row.key] = count;
  }
  counts.updatedAt = latest > 0 ? new Date(latest).toISOString() : null;
  return counts;
}

/**
 * Owes a signer the verification email again, when their campaign asks signers to confirm and
 * they have not. Returns the signature's campaign, or undefined when nothing is owed.
 */
export async function oweVerification(db: Tx, signatureId: number): Promise<number | undefined> {
  const [pending] = await queryRows<{ campaign_id: number }>(
    db,
    sql`UPDATE signatures s SET notice_pending = true
        FROM ${campaignsWith('requireVerification')} c
        WHERE s.id = ${signatureId}::bigint AND c.id = s.campaign_id AND c.require_verification AND s.verified_at IS NULL
        RETURNING s.campaign_id`,
  );
  return pending ? Number(pending.campaign_id) : undefined;
}

/** The signature of an address (by its keyed hash) in a campaign, if it is not verified yet. */
export async function unverifiedSignature(
  db: Pick<Database, 'select'>,
  campaignId: number,
  emailHash: Uint8Array,
): Promise<number | undefined> {
  const [row] = await db
    .select({ id: signatures.id })
    .from(signatures)
    .where(
      and(
        eq(signatures.campaignId, campaignId),
        eq(signatures.emailHash, emailHash),
        sql`${signatures.verifiedAt} IS NULL`,
      ),
    );
  return row?.id;
}

/** A signer's email owed, claimed to be sent, with what it is written from. */
export interface ClaimedNotice {
  id: number;
  email: Uint8Array;
  campaign_id: number;
  verified: boolean;
  title: string;
  translations: CampaignTranslations | null;
  /** The language the signer signed in: their email is written in it. */
  language: string;
  slug: string;
  require_verification: boolean;
}

/**
 * Claims up to `limit` of a campaign's owed signer emails (not those in `waiting`), in id order:
 * they are no longer owed once this returns. Not SKIP LOCKED: a row a tally batch holds at this
 * moment would be skipped and left owed until the next sweep. The wait is one batch's commit; both
 * take rows in id order, and should PostgreSQL ever break a deadlock, the statement fails and its
 * job is retried.
 */
export function claimNotices(
  db: Tx,
  campaignId: number,
  waiting: number[],
  limit: number,
): Promise<ClaimedNotice[]> {
  return queryRows<ClaimedNotice>(
    db,
    sql`UPDATE signatures s SET notice_pending = false
        FROM ${campaignsWith('title', 'translations', 'slug', 'requireVerification')} c
        WHERE s.id IN (
                SELECT id FROM signatures WHERE campaign_id = ${campaignId}::int AND notice_pending
                  AND id <> ALL(${`{${waiting.join(',')}}`}::bigint[])
                ORDER BY id LIMIT ${limit}::int FOR UPDATE)
          AND c.id = s.campaign_id
        RETURNING s.id, s.email, s.campaign_id, s.verified_at IS NOT NULL AS verified, c.title, c.translations, s.language, c.slug, c.require_verification`,
  );
}

/** Owes these signers their email again (a send to be tried later). */
export async function oweNotices(db: Tx, signatureIds: number[]): Promise<void> {
  await db.execute(
    sql`UPDATE signatures SET notice_pending = true WHERE id IN (${idList(signatureIds)})`,
  );
}

/** The ids of an address's signatures (by its keyed hash), in one campaign or (null) in all, as a subquery. */
export const signaturesOfAddress = (emailHash: Uint8Array, campaignId: number | null) =>
  campaignId === null
    ? sql`SELECT s.id FROM ${campaignsWith()} c JOIN signatures s ON s.campaign_id = c.id AND s.email_hash = ${emailHash}::bytea`
    : sql`SELECT id FROM signatures WHERE campaign_id = ${campaignId}::int AND email_hash = ${emailHash}::bytea`;

/** Takes these signatures (a subquery of ids) off the campaign's own mailing list. */
export async function clearOptIn(db: Tx, signatureIds: SQL): Promise<void> {
  await db.execute(
    sql`UPDATE signatures SET opt_in = false WHERE opt_in AND id IN (${signatureIds})`,
  );
}

// ---------------------------------------------------------------------------------------------
// Reads for other features: the partner API and its webhooks (osdi/, webhooks/), partners' exports
// and numbers (partners/), the burst report (abuse/). A partner's consent shows here as a condition
// on signatures: privacy/consent.ts owns `consents` but builds on this store, so cannot be imported.

/**
 * That the signature `signature` (its alias in the query) carries a partner's consent, not
 * withdrawn; `partnerId` is a value or a column of the query.
 */
export const partnerConsentOf = (signature: string, partnerId: SQL) =>
  sql`EXISTS (SELECT 1 FROM consents k WHERE k.signature_id = ${sql.raw(signature)}.id AND k.scope = 'partner' AND k.partner_id = ${partnerId} AND k.withdrawn_at IS NULL)`;

/**
 * Which of a campaign's signatures a reader of the partner API may be shown, and what of them:
 * osdi/records.ts says so from the reader (a partner, or the coalition) and the campaign.
 */
export interface SignaturesShown {
  campaignId: number;
  /** Only those whose signer confirmed their address. */
  confirmedOnly: boolean;
  /** Only those whose signer agreed to hear from this partner (a consent not withdrawn); null: all. */
  consentedTo: number | null;
  /** When a signature last changed, as shown: when it was made, or when it was confirmed. */
  modifiedAt: 'created' | 'confirmed';
  /** Whose email address may be shown: everyone's, or only that of those on the campaign's own list. */
  emailShownOf: 'all' | 'opted-in';
}

/** A signature as the partner API reads it (sealed fields still sealed). */
export type ShownSignatureRow = Pick<
  SignatureRow,
  'id' | 'name' | 'email' | 'zip' | 'state' | 'source'
> & {
  created_at: Date | string;
  modified_at: Date | string;
  email_visible: boolean;
};

function signaturesShownListing(shown: SignaturesShown, conditions: DateCondition[] = []): Listing {
  const modified = sql.raw(shown.modifiedAt === 'confirmed' ? 's.verified_at' : 's.created_at');
  return {
    columns: sql`s.id, s.name, s.email, s.zip, s.state, s.source, s.created_at, ${modified} AS modified_at,
      ${shown.emailShownOf === 'all' ? sql`true` : sql`s.opt_in`} AS email_visible`,
    from: sql`signatures s`,
    where: sql.join(
      [
        sql`s.campaign_id = ${shown.campaignId}::int`,
        ...(shown.confirmedOnly ? [sql`s.verified_at IS NOT NULL`] : []),
        ...(shown.consentedTo !== null
          ? [partnerConsentOf('s', sql`${shown.consentedTo}::int`)]
          : []),
        ...conditions.map((condition) =>
          compareAsShown(
            condition.field === 'created_date' ? sql.raw('s.created_at') : modified,
            condition,
          ),
        ),
      ],
      sql` AND `,
    ),
    id: sql`s.id`,
    order: sql`${modified}, s.id`,
  };
}

/** A page of the signatures shown that meet the date conditions, in the order they showed, and how many there are in all. */
export function pageOfSignaturesShown(
  db: Pick<Database, 'execute'>,
  shown: SignaturesShown,
  page: { offset: number; limit: number; conditions: DateCondition[] },
): Promise<{ total: number; rows: ShownSignatureRow[] }> {
  return countThenPage<ShownSignatureRow>(db, signaturesShownListing(shown, page.conditions), page);
}

/** The signatures of `ids` that are shown (now: a consent withdrawn since drops one). */
export function signaturesShownWithIds(
  db: Pick<Database, 'execute'>,
  shown: SignaturesShown,
  ids: number[],
): Promise<ShownSignatureRow[]> {
  return rowsWithIds<ShownSignatureRow>(db, signaturesShownListing(shown), ids);
}

/** A signer who agreed to hear from a partner, as the partner's export lists them (sealed fields still sealed). */
export type ConsentingSignerRow = Pick<SignatureRow, 'id' | 'name' | 'email' | 'zip' | 'state'> & {
  signed_at: Date | string;
  agreed_at: Date | string;
  wording: string;
};

/**
 * The signers of a campaign who agreed to hear from a partner (a consent not withdrawn), joined
 * with their consents; where the campaign asks signers to confirm, only confirmed ones.
 */
const consentingSigners = (campaignId: number, partnerId: number) => ({
  from: sql`signatures s JOIN consents k ON k.signature_id = s.id AND k.scope = 'partner' AND k.partner_id = ${partnerId}::int AND k.withdrawn_at IS NULL`,
  where: sql`s.campaign_id = ${campaignId}::int
    AND (s.verified_at IS NOT NULL OR NOT ${requiresVerificationOf(sql`${campaignId}::int`)})`,
});

/** How many signers of a campaign agreed to hear from a partner (see `consentingSigners`). */
export async function countSignersConsentingTo(
  db: Pick<Database, 'execute'>,
  campaignId: number,
  partnerId: number,
): Promise<number> {
  const { from, where } = consentingSigners(campaignId, partnerId);
  const [count] = await queryRows<{ n: number }>(
    db,
    sql`SELECT count(DISTINCT s.id)::int AS n FROM ${from} WHERE ${where}`,
  );
  return Number(count?.n ?? 0);
}

/**
 * Up to `limit` signers of a campaign who agreed to hear from a partner, after signature id
 * `after`, in id order, each once with their first consent to it (when, and the words).
 */
export function signersConsentingTo(
  db: Pick<Database, 'execute'>,
  campaignId: number,
  partnerId: number,
  after: number,
  limit: number,
): Promise<ConsentingSignerRow[]> {
  const { from, where } = consentingSigners(campaignId, partnerId);
  return queryRows<ConsentingSignerRow>(
    db,
    sql`SELECT DISTINCT ON (s.id) s.id, s.name, s.email, s.zip, s.state, s.created_at AS signed_at, k.given_at AS agreed_at, k.wording
        FROM ${from}
        WHERE ${where} AND s.id > ${after}::bigint ORDER BY s.id, k.id LIMIT ${limit}::int`,
  );
}

/** How many signatures of a campaign carry a source code: in all, by UTC day, by state and by congressional district. */
export interface SourceCounts {
  total: number;
  byDay: Array<{ day: string; n: number }>;
  /** Biggest first, then by state. */
  byState: Array<{ state: string; n: number }>;
  /** The 100 biggest, biggest first, then by GEOID. */
  byDistrict: Array<{ geoid: string; n: number }>;
}

/** The counts of the signatures of a campaign that carry a source code (a partner's), as four short statements. */
export async function countsOfSource(
  db: Pick<Database, 'execute'>,
  campaignId: number,
  source: string,
): Promise<SourceCounts> {
  const mine = sql`s.campaign_id = ${campaignId}::int AND s.source = ${source}`;
  const [total] = await queryRows<{ n: number }>(
    db,
    sql`SELECT count(*)::int AS n FROM signatures s WHERE ${mine}`,
  );
  const byDay = await queryRows<{ day: string; n: number }>(
    db,
    sql`SELECT to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS n FROM signatures s WHERE ${mine} GROUP BY 1`,
  );
  const byState = await queryRows<{ state: string; n: number }>(
    db,
    sql`SELECT s.state, count(*)::int AS n FROM signatures s WHERE ${mine} AND s.state IS NOT NULL GROUP BY s.state ORDER BY n DESC, s.state`,
  );
  const byDistrict = await queryRows<{ geoid: string; n: number }>(
    db,
    sql`SELECT s.congressional_district AS geoid, count(*)::int AS n FROM signatures s
        WHERE ${mine} AND s.congressional_district IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1 LIMIT 100`,
  );
  return { total: Number(total?.n ?? 0), byDay, byState, byDistrict };
}

/** A signature as the burst report reads it: when (microseconds since the epoch), its IP hash, its email domain's keyed hash (base64). */
export interface SignatureTrace {
  id: string | number;
  at: string | number;
  ip_hash: string | null;
  domain: string;
}

/** A timestamp given in microseconds since the epoch (exact: a Date holds milliseconds only). */
const timestampAt = (micros: number) =>
  sql`(timestamptz 'epoch' + ${String(micros)}::bigint * interval '1 microsecond')`;

/**
 * The next `limit` signatures of a campaign made before `untilMicros`, after `after` (a
 * signature's time and id), in (created_at, id) order along the (campaign, created_at) index, with
 * their time in microseconds (exact from PostgreSQL 14 on, where `extract` answers in numeric).
 */
export function signatureTracesAfter(
  db: Pick<Database, 'execute'>,
  campaignId: number,
  after: { at: number; id: number },
  untilMicros: number,
  limit: number,
): Promise<SignatureTrace[]> {
  const from = timestampAt(after.at);
  return queryRows<SignatureTrace>(
    db,
    sql`SELECT id, (extract(epoch FROM created_at) * 1000000)::bigint AS at, ip_hash, encode(email_domain_hash, 'base64') AS domain
        FROM signatures
        WHERE campaign_id = ${campaignId}::int
          AND created_at >= ${from} AND (created_at > ${from} OR id > ${after.id}::bigint)
          AND created_at < ${timestampAt(untilMicros)}
        ORDER BY created_at, id
        LIMIT ${limit}::int`,
  );
}

/** The sealed email addresses of these signatures (those still there), with their ids. */
export function sealedEmailsOf(
  db: Pick<Database, 'execute'>,
  signatureIds: number[],
): Promise<Array<{ id: string | number; email: Uint8Array }>> {
  return queryRows<{ id: string | number; email: Uint8Array }>(
    db,
    sql`SELECT id, email FROM signatures WHERE id IN (${idList(signatureIds)})`,
  );
}

// --- A person's data: what we hold and erasing it (erasure itself is `eraseSignatureBatch`)

/** Whether an email address (by its keyed hash) has signed anything, in any campaign. */
export async function holdsSignaturesOf(db: Tx, emailHash: Uint8Array): Promise<boolean> {
  const [row] = await queryRows<{ held: boolean }>(
    db,
    sql`SELECT EXISTS (${signaturesOfAddress(emailHash, null)}) AS held`,
  );
  return Boolean(row?.held);
}

/** A signature as "your data" shows it: its campaign, and the signer's details (sealed). */
export interface PersonsSignature {
  id: number;
  slug: string;
  title: string;
  name: Uint8Array;
  email: Uint8Array;
  zip: string;
  address: Uint8Array | null;
  state: string | null;
  congressional_district: string | null;
  state_upper_district: string | null;
  state_lower_district: string | null;
  source: string | null;
  opt_in: boolean;
  ip_hash: string | null;
  verified_at: string | null;
  created_at: string;
}

/** Every signature of an email address (by its keyed hash), with its campaign, oldest first. */
export function signaturesOf(db: Tx, emailHash: Uint8Array): Promise<PersonsSignature[]> {
  return queryRows<PersonsSignature>(
    db,
    sql`SELECT s.id, c.slug, c.title, s.name, s.email, s.zip, s.address, s.state, s.congressional_district, s.state_upper_district,
               s.state_lower_district, s.source, s.opt_in, s.ip_hash, s.verified_at, s.created_at
        FROM ${campaignsWith('slug', 'title')} c JOIN signatures s ON s.campaign_id = c.id AND s.email_hash = ${emailHash}::bytea
        ORDER BY s.created_at, s.id`,
  );
}

/** A signature as its supporter's links (verify, "this wasn't me") show it, with its campaign. */
export interface LinkedSignature {
  id: number;
  verified: boolean;
  title: string;
  translations: CampaignTranslations | null;
  slug: string;
  require_verification: boolean;
}

/** A signature and its campaign, for a supporter's link; undefined when it is gone. */
export async function linkedSignature(
  db: Tx,
  signatureId: number,
): Promise<LinkedSignature | undefined> {
  const [row] = await queryRows<LinkedSignature>(
    db,
    sql`SELECT s.id, s.verified_at IS NOT NULL AS verified, c.title, c.translations, c.slug, c.require_verification
        FROM signatures s JOIN ${campaignsWith('title', 'translations', 'slug', 'requireVerification')} c ON c.id = s.campaign_id
        WHERE s.id = ${signatureId}::bigint`,
  );
  return row;
}

/** A condition over a campaign's id (SQL): true when the campaign holds signatures. */
export const campaignHoldsSignatures = (campaignId: SQL) =>
  sql`EXISTS (SELECT 1 FROM signatures s WHERE s.campaign_id = ${campaignId})`;

/** The campaigns with signer emails still owed (for the sweep that asks for them again). */
export async function campaignsOwedNotices(db: Tx): Promise<number[]> {
  const rows = await queryRows<{ campaign_id: number }>(
    db,
    sql`SELECT DISTINCT campaign_id FROM signatures WHERE notice_pending`,
  );
  return rows.map((row) => Number(row.campaign_id));
}
