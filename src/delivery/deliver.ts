import { createHash } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { campaignsWith } from '../campaigns/directory';
import { queryRows, type Database } from '../db/client';
import { changeLetterStatus, countMoves } from '../letters/letter-store';
import type { DeliveredAs, LetterStatus } from '../db/schema';
import { SealedValueError, UnknownKeyError, type FieldEncryption } from '../db/field-encryption';
import { Batcher } from './batcher';
import { messageIdFor, type MailMessage, type Mailer, type SendOutcome } from './mailer';

/**
 * Delivery of one letter, with its attempt recorded before the send and completed after it:
 *   queued | retrying → sending → delivered | retrying | failed
 * A worker that dies during a send leaves the letter `sending` with an open attempt. When its job
 * comes back (BullMQ hands a stalled job to another worker once its lock has lapsed), that attempt
 * is closed as `interrupted` and the letter is sent again with the same Message-ID: a letter is
 * never lost, and only a send cut off between the server's acceptance and our record can arrive
 * twice.
 *
 * Letters are delivered one per job, but the claims and the records of the jobs running at the
 * same time go to the database together, one statement each (see `letterDelivery`).
 */
export const MAX_ATTEMPTS = 8;

export interface DeliveryContext {
  db: Database;
  /** Opens the letter and its writer's details, sealed in the database. */
  encryption: FieldEncryption;
  /** Outgoing mail: SMTP, or files under DATA_DIR/mail when there is no SMTP_URL. */
  mailer: Mailer;
  /** Files under DATA_DIR/mail, whatever SMTP_URL says: a rehearsal's letters when it has no address to go to. */
  rehearsalFiles: Mailer;
  config: { delivery: { from: string; redirectTo: string | undefined; lockSeconds: number } };
  /**
   * Sends a letter through Communicating with Congress, when it is configured: to CWC's
   * validation endpoint instead (nothing delivered) with `validateOnly`, for a rehearsal.
   */
  cwc?: (letter: LetterToSend, options: { validateOnly: boolean }) => Promise<SendOutcome>;
}

export interface LetterToSend {
  id: number;
  campaignSlug: string;
  idempotencyKey: string;
  channel: 'email' | 'cwc' | 'hand';
  channelAddress: string | null;
  subject: string;
  body: string;
  from: string;
  /** The office it is written to, as the letter names it (for a rehearsal copy's note). */
  target: { name: string; title: string };
  /** Written while its campaign rehearsed: sent as a rehearsal, whatever the campaign's mode now. */
  rehearsal: boolean;
  campaign: { rehearsalTo: string | null };
  supporter: {
    name: string;
    /** The honorific given for CWC, one of CWC's list. */
    prefix: string | null;
    email: string;
    zip: string;
    city: string | null;
    state: string | null;
    address: string | null;
  };
}

/** A send's outcome, and how a delivered letter went (to the office, in a rehearsal, to a file). */
type SendResult = SendOutcome & { as?: DeliveredAs };

export type DeliveryResult = 'delivered' | 'rehearsed' | 'retrying' | 'failed' | 'skipped';

const dialect = new PgDialect();

/**
 * Runs one of the statements every batch runs, and returns its rows: on PostgreSQL as a named
 * prepared statement, planned once per connection rather than at each call (planning was most of
 * the database's time for a batch); on PGlite, in this process, as any other statement. `name`
 * must always go with the same SQL text (the parameters vary).
 */
async function runPrepared<T>(db: Database, name: string, query: SQL): Promise<T[]> {
  const pool = (db as { $client?: unknown }).$client;
  if (!(pool instanceof pg.Pool)) return queryRows<T>(db, query);
  const { sql: text, params } = dialect.sqlToQuery(query);
  return (await pool.query({ name, text, values: params })).rows as T[];
}

interface ClaimedRow {
  attempt_id: number;
  attempts: number;
  id: number;
  idempotency_key: string;
  channel: LetterToSend['channel'];
  channel_address: string | null;
  subject: Uint8Array;
  body: Uint8Array;
  letter_from: string | null;
  target_name: string;
  target_title: string;
  slug: string;
  rehearsal: boolean;
  rehearsal_to: string | null;
  name: Uint8Array;
  prefix: Uint8Array | null;
  email: Uint8Array;
  zip: string;
  city: Uint8Array | null;
  state: string | null;
  address: Uint8Array | null;
}

/** A claimed letter: what its send needs (or why it cannot be read), and its attempt. */
interface Claim {
  letter: LetterToSend | { unreadable: SendOutcome & { outcome: 'retry' | 'failed' } };
  attemptId: number;
  attempts: number;
}

/** A claim's answer, from its `moved` letters and their `attempt`s. */
const CLAIMED = sql`
  SELECT attempt.id AS attempt_id, m.attempts, m.id, m.idempotency_key, m.channel, m.channel_address, m.subject, m.body,
         m.target_name, m.target_title, m.rehearsal, c.letter_from, c.slug, c.rehearsal_to,
         a.name, a.prefix, a.email, a.zip, a.city, a.state, a.address
  FROM moved m JOIN attempt ON attempt.letter_id = m.id JOIN letter_actions a ON a.id = m.action_id
    JOIN ${campaignsWith('letterFrom', 'slug', 'rehearsalTo')} c ON c.id = m.campaign_id`;

/**
 * The usual claim, of several letters in one statement (a statement per letter was most of a
 * letter's cost): each `queued` or `retrying` letter becomes `sending`, with its attempt recorded
 * (its counts stay as they are until the result). Answers per id given, in order: its claim, or
 * null when the letter is in any other state (or the same id came earlier in the list).
 */
async function claimWaiting(
  ctx: DeliveryContext,
  letterIds: number[],
): Promise<Array<Claim | null>> {
  const rows = await runPrepared<ClaimedRow>(
    ctx.db,
    'delivery-claim-waiting',
    sql`
      WITH waiting AS (
        SELECT id FROM letters WHERE id = ANY(${sql.param(letterIds)}::bigint[]) AND status IN ('queued', 'retrying')
        ORDER BY id FOR UPDATE
      ), moved AS (
        UPDATE letters l SET status = 'sending', attempts = l.attempts + 1, updated_at = now()
        FROM waiting w WHERE l.id = w.id
        RETURNING l.id, l.attempts, l.action_id, l.campaign_id, l.idempotency_key, l.channel, l.channel_address, l.subject, l.body,
                  l.target_name, l.target_title, l.rehearsal
      ), attempt AS (
        INSERT INTO delivery_attempts (letter_id) SELECT id FROM moved RETURNING id, letter_id
      )
      ${CLAIMED}`,
  );
  const claims = new Map(rows.map((row) => [Number(row.id), claimed(ctx.encryption, row)]));
  return letterIds.map((id) => {
    const claim = claims.get(id) ?? null;
    claims.delete(id);
    return claim;
  });
}

/**
 * What a claim hands to the send: the letter (opened), its supporter and campaign, and the
 * attempt. A letter that does not open is that attempt's failure alone, not its batch's: a retry
 * when it names a key ENCRYPTION_KEYS does not hold (it may be added back), a failure when it was altered.
 */
function claimed(encryption: FieldEncryption, row: ClaimedRow): Claim {
  const attempt = { attemptId: Number(row.attempt_id), attempts: Number(row.attempts) };
  try {
    return {
      ...attempt,
      letter: {
        id: Number(row.id),
        campaignSlug: row.slug,
        idempotencyKey: row.idempotency_key,
        channel: row.channel,
        channelAddress: row.channel_address,
        subject: encryption.open('letters.subject', row.subject),
        body: encryption.open('letters.body', row.body),
        from: row.letter_from ?? '',
        target: { name: row.target_name, title: row.target_title },
        rehearsal: row.rehearsal,
        campaign: { rehearsalTo: row.rehearsal_to },
        supporter: {
          name: encryption.open('letter_actions.name', row.name),
          prefix: encryption.openOptional('letter_actions.prefix', row.prefix),
          email: encryption.open('letter_actions.email', row.email),
          zip: row.zip,
          city: encryption.openOptional('letter_actions.city', row.city),
          state: row.state,
          address: encryption.openOptional('letter_actions.address', row.address),
        },
      },
    };
  } catch (error) {
    if (!(error instanceof UnknownKeyError || error instanceof SealedValueError)) throw error;
    return {
      ...attempt,
      letter: {
        unreadable: {
          outcome: error instanceof UnknownKeyError ? 'retry' : 'failed',
          error: error.message,
        },
      },
    };
  }
}

/**
 * Claims one letter that `claimWaiting` did not: takes over a letter left `sending` by a dead
 * worker (its attempt closed as interrupted), or says why not. In a transaction of its own, as it
 * is rare and decides from what it reads.
 */
async function claimLeftOver(
  ctx: DeliveryContext,
  letterId: number,
  interruptedAfterMs: number,
): Promise<Claim | null> {
  return ctx.db.transaction(async (tx) => {
    // Times are the database's, so that workers' clocks do not matter.
    const [row] = await queryRows<{ status: LetterStatus; attempts: number; in_flight: boolean }>(
      tx,
      sql`
        SELECT l.status, l.attempts, EXISTS (
                 SELECT 1 FROM delivery_attempts d WHERE d.letter_id = l.id AND d.outcome IS NULL
                 AND d.started_at > now() - ${`${interruptedAfterMs} milliseconds`}::interval) AS in_flight
        FROM letters l WHERE l.id = ${letterId}::bigint FOR UPDATE`,
    );
    if (!row) return null;
    if (row.status === 'sending') {
      // Another worker's send in flight, or one whose worker died: only the latter is taken over.
      if (row.in_flight) return null;
      await tx.execute(sql`
        UPDATE delivery_attempts SET outcome = 'interrupted', finished_at = now(), error = 'the worker stopped during the send'
        WHERE letter_id = ${letterId}::bigint AND outcome IS NULL`);
      // A letter whose sends keep killing their worker stops here rather than going round for ever.
      if (Number(row.attempts) >= MAX_ATTEMPTS) {
        await changeLetterStatus(
          tx,
          letterId,
          'sending',
          'failed',
          sql`, last_error = 'every attempt was interrupted'`,
        );
        return null;
      }
    } else if (row.status === 'queued' || row.status === 'retrying') {
      await changeLetterStatus(tx, letterId, row.status, 'sending');
    } else {
      return null;
    }
    const [claimedRow] = await queryRows<ClaimedRow>(
      tx,
      sql`
        WITH moved AS (
          UPDATE letters SET attempts = attempts + 1, updated_at = now() WHERE id = ${letterId}::bigint
          RETURNING id, attempts, action_id, campaign_id, idempotency_key, channel, channel_address, subject, body, target_name, target_title, rehearsal
        ), attempt AS (
          INSERT INTO delivery_attempts (letter_id) SELECT id FROM moved RETURNING id, letter_id
        )
        ${CLAIMED}`,
    );
    return claimedRow ? claimed(ctx.encryption, claimedRow) : null;
  });
}

/** How an attempt ended, the status its letter moves to, and how a delivered one went. */
interface AttemptResult {
  attemptId: number;
  outcome: SendOutcome['outcome'];
  status: LetterStatus;
  error: string | null;
  deliveredAs: DeliveredAs | null;
}

/**
 * Records several attempts' results in one statement: each attempt is closed and its letter moved
 * to its status, with its counts (one upsert per count row for the whole batch). Only while the
 * attempt is still open: a worker that took the letter over has closed it, and its record stands.
 */
async function recordResults(db: Database, results: AttemptResult[]): Promise<void> {
  await runPrepared(
    db,
    'delivery-record-results',
    sql`
      WITH result AS (
        SELECT * FROM unnest(${sql.param(results.map((r) => r.attemptId))}::bigint[], ${sql.param(results.map((r) => r.outcome))}::text[],
                             ${sql.param(results.map((r) => r.status))}::text[], ${sql.param(results.map((r) => r.error))}::text[],
                             ${sql.param(results.map((r) => r.deliveredAs))}::text[])
                 AS r(attempt_id, outcome, status, error, delivered_as)
      ), closed AS (
        UPDATE delivery_attempts d SET outcome = r.outcome, finished_at = now(), error = r.error
        FROM result r WHERE d.id = r.attempt_id AND d.outcome IS NULL
        RETURNING d.letter_id, r.status, r.error, r.delivered_as
      ), moved AS (
        UPDATE letters l SET status = c.status, counted_status = c.status, updated_at = now(), last_error = c.error,
               delivered_at = CASE WHEN c.status IN ('delivered', 'rehearsed') THEN now() END,
               delivered_as = CASE WHEN c.status IN ('delivered', 'rehearsed') THEN c.delivered_as END
        FROM closed c, letters old WHERE l.id = c.letter_id AND old.id = l.id AND l.status = 'sending'
        RETURNING l.id, old.counted_status AS previous, l.counted_status AS next
      )
      ${countMoves('moved')}`,
  );
}

/**
 * Delivers one letter once per call: claim, send, record. Safe to call again for the same letter
 * at any time. The claims and the records of calls running at the same time go to the database
 * together, one statement each: the attempts of a batch are committed before any of its sends,
 * and a result is recorded before its call returns.
 */
export function letterDelivery(
  ctx: DeliveryContext,
): (letterId: number) => Promise<DeliveryResult> {
  const claims = new Batcher((letterIds: number[]) => claimWaiting(ctx, letterIds));
  const records = new Batcher((results: AttemptResult[]) => recordResults(ctx.db, results));
  // BullMQ renews a job's lock every half lock; a job comes back only after its lock lapsed, so
  // its open attempt is then at least half a lock old. A younger one is another worker's, in flight.
  const interruptedAfterMs = ctx.config.delivery.lockSeconds * 500;

  return async (letterId) => {
    const claim =
      (await claims.submit(letterId)) ?? (await claimLeftOver(ctx, letterId, interruptedAfterMs));
    if (!claim) return 'skipped';
    const { letter, attemptId, attempts } = claim;

    let sent: SendResult;
    try {
      sent = 'unreadable' in letter ? letter.unreadable : await send(ctx, letter);
    } catch (error) {
      sent = { outcome: 'retry', error: error instanceof Error ? error.name : 'send failed' };
    }
    // A letter that went anywhere but the office (a rehearsal, DELIVERY_REDIRECT_TO) is counted apart from those delivered.
    const rehearsed =
      sent.outcome === 'delivered' &&
      ('unreadable' in letter ? false : letter.rehearsal || sent.as === 'rehearsal');
    const status: LetterStatus =
      sent.outcome === 'delivered'
        ? rehearsed
          ? 'rehearsed'
          : 'delivered'
        : sent.outcome === 'failed' || attempts >= MAX_ATTEMPTS
          ? 'failed'
          : 'retrying';
    const result: AttemptResult = {
      attemptId,
      outcome: sent.outcome,
      status,
      error: sent.outcome === 'delivered' ? null : sent.error,
      deliveredAs: sent.outcome === 'delivered' ? (sent.as ?? 'office') : null,
    };
    // The outcome is known now: recording it is retried here, as a later attempt would send again.
    // A retry goes alone, so that a result the database refuses cannot hold back the others.
    for (let tries = 1; ; tries++) {
      try {
        await (tries === 1 ? records.submit(result) : recordResults(ctx.db, [result]));
        return status;
      } catch (recordError) {
        if (tries >= 5) throw recordError;
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** tries));
      }
    }
  };
}

/**
 * Sends a letter as the mode it was written in says (DESIGN invariant 7: nothing reaches an office
 * by accident):
 * - DELIVERY_REDIRECT_TO set: every letter of every campaign, whatever its channel, by email to that address;
 * - a letter written while its campaign rehearsed: email letters to the campaign's rehearsal
 *   address (or, without one, to a file), CWC letters to CWC's validation endpoint, which checks
 *   them and delivers nothing;
 * - any other letter: to the office.
 * Mail written to a file (no SMTP_URL) is said to be so, never delivered.
 */
async function send(ctx: DeliveryContext, letter: LetterToSend): Promise<SendResult> {
  const { redirectTo } = ctx.config.delivery;
  if (letter.channel === 'hand') return { outcome: 'failed', error: 'no electronic channel' };
  if (redirectTo) return rehearse(ctx, ctx.mailer, redirectTo, letter);
  const live = !letter.rehearsal;
  if (letter.channel === 'cwc') {
    if (!ctx.cwc) return { outcome: 'failed', error: 'CWC is no longer configured' };
    const sent = await ctx.cwc(letter, { validateOnly: !live });
    return { ...sent, as: live ? 'office' : 'rehearsal' };
  }
  if (!letter.channelAddress) return { outcome: 'failed', error: 'no electronic channel' };
  if (!live) {
    const to = letter.campaign.rehearsalTo;
    return to
      ? rehearse(ctx, ctx.mailer, to, letter)
      : rehearse(ctx, ctx.rehearsalFiles, 'rehearsal@localhost', letter);
  }
  const sent = await ctx.mailer.send(
    letterMail(ctx, letter, letter.channelAddress, { subject: letter.subject, text: letter.body }),
  );
  return { ...sent, as: ctx.mailer.kind === 'files' ? 'file' : 'office' };
}

/** A rehearsal copy: to the rehearsal address, saying where it would have gone. */
async function rehearse(
  ctx: DeliveryContext,
  mailer: Mailer,
  to: string,
  letter: LetterToSend,
): Promise<SendResult> {
  const destination =
    letter.channel === 'cwc'
      ? `through Communicating with Congress (office ${letter.channelAddress})`
      : `to ${letter.channelAddress}`;
  const note = `Rehearsal: live, this letter would go to ${letter.target.name}, ${letter.target.title}, ${destination}.`;
  const sent = await mailer.send(
    letterMail(ctx, letter, to, {
      subject: `[Rehearsal] ${letter.subject}`,
      text: `${note}\n\n${letter.body}`,
    }),
  );
  return { ...sent, as: mailer.kind === 'files' ? 'file' : 'rehearsal' };
}

function letterMail(
  ctx: DeliveryContext,
  letter: LetterToSend,
  to: string,
  content: { subject: string; text: string },
): MailMessage {
  return {
    from: letter.from || ctx.config.delivery.from,
    to,
    replyTo: { name: letter.supporter.name, address: letter.supporter.email },
    ...content,
    messageId: messageIdFor(messageKey(letter.idempotencyKey), ctx.config.delivery.from),
    headers: { 'X-Letter-Id': messageKey(letter.idempotencyKey) },
  };
}

/** A letter's idempotency key as an opaque token fit for a Message-ID (it reveals no sequential ids). */
export const messageKey = (idempotencyKey: string): string =>
  createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);

/**
 * Letters waiting for a send whose job may have been lost (Redis restarted, say), page by page
 * after `afterId`: the sweep queues them again (a letter whose job still waits is not queued twice).
 */
export async function lettersAwaitingDelivery(
  db: Database,
  olderThanMs: number,
  afterId = 0,
  limit = 1000,
): Promise<number[]> {
  const rows = await queryRows<{ id: number }>(
    db,
    sql`SELECT id FROM letters
        WHERE status IN ('queued', 'retrying', 'sending') AND id > ${afterId}::bigint
          AND updated_at < now() - ${`${Math.round(olderThanMs / 1000)} seconds`}::interval
        ORDER BY id LIMIT ${limit}::int`,
  );
  return rows.map((row) => Number(row.id));
}

/** Supporters' confirmations not sent yet (their job lost, or every attempt failed), for the sweep. */
export async function actionsAwaitingConfirmation(
  db: Database,
  olderThanMs: number,
): Promise<number[]> {
  const rows = await queryRows<{ id: number }>(
    db,
    sql`SELECT id FROM letter_actions
        WHERE wants_copy AND confirmation_sent_at IS NULL AND created_at < now() - ${`${Math.round(olderThanMs / 1000)} seconds`}::interval
          AND created_at > now() - interval '2 days'
        ORDER BY id LIMIT 1000`,
  );
  return rows.map((row) => Number(row.id));
}

/**
 * The email address a letter still waiting to go by email goes to (the throttle needs it), or
 * null: it goes by another channel, or is no longer waiting.
 */
export async function emailRecipientOf(db: Database, letterId: number): Promise<string | null> {
  const [target] = await queryRows<{
    channel: string;
    channel_address: string | null;
    status: string;
  }>(db, sql`SELECT channel, channel_address, status FROM letters WHERE id = ${letterId}::bigint`);
  return target?.channel === 'email' && (target.status === 'queued' || target.status === 'retrying')
    ? target.channel_address
    : null;
}

/** A delivery attempt as "your data" shows it. */
export interface LetterAttempt {
  letter_id: number;
  started_at: string;
  finished_at: string | null;
  outcome: string | null;
}

/** The delivery attempts of these letters (`letterIds`, a subquery of ids), in id order. */
export function attemptsOfLetters(
  db: Pick<Database, 'execute'>,
  letterIds: SQL,
): Promise<LetterAttempt[]> {
  return queryRows<LetterAttempt>(
    db,
    sql`SELECT d.letter_id, d.started_at, d.finished_at, d.outcome
        FROM delivery_attempts d WHERE d.letter_id IN (${letterIds}) ORDER BY d.id`,
  );
}
