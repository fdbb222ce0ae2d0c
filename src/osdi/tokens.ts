import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows, type Database } from '../db/client';
import { apiTokens, type ApiScope, type ApiToken } from '../db/schema';
import { partnersWith } from '../partners/partner-accounts';
import type { Logger } from '../logger';
import { recordAudit, recordPlatformAudit, type Actor } from '../staff/audit';
import { CONTROL_IN_LINE } from '../text-safety/characters';
import { hiddenFormatting } from '../text-safety/input';

/**
 * API tokens for the OSDI API. A token is `osdi_` and 43 random characters; only its SHA-256 is
 * stored, so a database dump yields none. Each is scoped: `read` (the collections) and/or `sign`
 * (the record signature helper); one campaign or all; and, for a partner's token, one partner,
 * whose holder then sees only the supporters who agreed to hear from that partner. Creating and
 * revoking are audited; use is counted per day and summarised in the audit log (`ApiTokenUsage`).
 * A revoked token is refused from the next request: every request looks its token up.
 */

export const apiScopes: readonly ApiScope[] = ['read', 'sign'];

export const tokenName = z
  .string({ error: 'Give the token a name.' })
  .trim()
  .min(1, 'Give the token a name, like "ACLU-NC CRM sync".')
  .max(100, 'Use at most 100 characters.')
  .refine(
    (value) => !CONTROL_IN_LINE.test(value) && !hiddenFormatting(value),
    'Write the name on one line, without invisible characters.',
  );

/** `read`, `sign` or `read,sign` (a form's checkboxes send an array). */
export const tokenScopes = z
  .union([z.string(), z.array(z.string())], { error: 'Choose read, sign or both.' })
  .transform((value) =>
    (Array.isArray(value) ? value : value.split(',')).map((scope) => scope.trim()).filter(Boolean),
  )
  .pipe(
    z
      .array(
        z.enum(apiScopes as [ApiScope, ...ApiScope[]], {
          error: 'Scopes are read, sign, or read,sign.',
        }),
      )
      .min(1, 'Choose read, sign or both.'),
  )
  .transform((scopes) => apiScopes.filter((scope) => scopes.includes(scope)));

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');
export const isTokenShaped = (value: string) => /^osdi_[A-Za-z0-9_-]{43}$/.test(value);

export interface NewToken {
  name: string;
  scopes: ApiScope[];
  campaignId: number | null;
  partnerId: number | null;
}

/** Creates a token; the token itself is returned once and never stored. */
export async function createApiToken(
  db: Database,
  input: NewToken,
  actor: Actor,
): Promise<{ token: string; record: ApiToken }> {
  const token = `osdi_${randomBytes(32).toString('base64url')}`;
  return db.transaction(async (tx) => {
    const [record] = await tx
      .insert(apiTokens)
      .values({
        name: input.name,
        tokenHash: hashOf(token),
        hint: token.slice(0, 9),
        campaignId: input.campaignId,
        partnerId: input.partnerId,
        scopes: input.scopes,
        createdBy: actor === 'command line' ? null : actor.id,
      })
      .returning();
    await recordAudit(tx, actor, {
      action: 'api-token.create',
      campaignId: input.campaignId,
      details: {
        tokenId: record!.id,
        name: input.name,
        scopes: input.scopes,
        ...(input.partnerId !== null ? { partnerId: input.partnerId } : {}),
      },
    });
    return { token, record: record! };
  });
}

/**
 * Revokes a token (at once: the next request with it is refused): from a campaign's page, one of
 * that campaign's or one that reads every campaign (this one too); with no campaign, any. Returns
 * false when it was revoked already or is not one of those.
 */
export async function revokeApiToken(
  db: Database,
  id: number,
  campaignId: number | null,
  actor: Actor,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [revoked] = await tx
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(
        and(
          eq(apiTokens.id, id),
          isNull(apiTokens.revokedAt),
          campaignId === null
            ? undefined
            : or(eq(apiTokens.campaignId, campaignId), isNull(apiTokens.campaignId)),
        ),
      )
      .returning();
    if (!revoked) return false;
    await recordAudit(tx, actor, {
      action: 'api-token.revoke',
      campaignId: revoked.campaignId,
      details: { tokenId: revoked.id, name: revoked.name },
    });
    return true;
  });
}

/**
 * The tokens that read a campaign: its own and its partners', then those for every campaign (made
 * on the command line without `--campaign`), newest first, with each partner's name.
 */
export async function listApiTokens(db: Database, campaignId: number) {
  return queryRows<{
    id: number;
    name: string;
    hint: string;
    scopes: ApiScope[];
    partner: string | null;
    every_campaign: boolean;
    created_at: Date | string;
    last_used_at: Date | string | null;
    revoked_at: Date | string | null;
  }>(
    db,
    sql`SELECT t.id, t.name, t.hint, t.scopes, p.name AS partner, t.campaign_id IS NULL AS every_campaign,
          t.created_at, t.last_used_at, t.revoked_at
        FROM api_tokens t LEFT JOIN ${partnersWith('name')} p ON p.id = t.partner_id
        WHERE t.campaign_id = ${campaignId}::int OR t.campaign_id IS NULL
        ORDER BY t.revoked_at IS NOT NULL, t.campaign_id IS NULL, t.id DESC`,
  );
}

/** What a request's token lets it do. */
export interface TokenHolder {
  id: number;
  name: string;
  scopes: ApiScope[];
  campaignId: number | null;
  partner: { id: number; sourceCode: string; name: string } | null;
}

/** The holder of a token, or undefined for a token that is unknown or revoked. */
export async function findTokenHolder(
  db: Database,
  token: string,
): Promise<TokenHolder | undefined> {
  if (!isTokenShaped(token)) return undefined;
  const [row] = await queryRows<{
    id: number;
    name: string;
    scopes: ApiScope[];
    campaign_id: number | null;
    partner_id: number | null;
    source_code: string | null;
    partner_name: string | null;
  }>(
    db,
    sql`SELECT t.id, t.name, t.scopes, t.campaign_id, t.partner_id, p.source_code, p.name AS partner_name
        FROM api_tokens t LEFT JOIN ${partnersWith('sourceCode', 'name')} p ON p.id = t.partner_id
        WHERE t.token_hash = ${hashOf(token)} AND t.revoked_at IS NULL`,
  );
  if (!row) return undefined;
  return {
    id: Number(row.id),
    name: row.name,
    scopes: row.scopes,
    campaignId: row.campaign_id === null ? null : Number(row.campaign_id),
    partner:
      row.partner_id === null
        ? null
        : { id: Number(row.partner_id), sourceCode: row.source_code!, name: row.partner_name! },
  };
}

const today = (now = new Date()) => now.toISOString().slice(0, 10);

/** How often each process writes the use it counted. */
const FLUSH_EVERY_MS = 10_000;

/**
 * Use of each token, counted in memory per UTC day and added to `api_token_usage` every few
 * seconds (and on close), so a request costs no write. `summarise` (the workers' maintenance)
 * writes one audit entry per token for each day that is over.
 */
export class ApiTokenUsage {
  private counts = new Map<
    string,
    { tokenId: number; day: string; requests: number; signatures: number }
  >();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_EVERY_MS).unref();
  }

  record(tokenId: number, kind: 'request' | 'signature'): void {
    const day = today();
    const key = `${tokenId}:${day}`;
    const entry = this.counts.get(key) ?? { tokenId, day, requests: 0, signatures: 0 };
    if (kind === 'request') entry.requests++;
    else entry.signatures++;
    this.counts.set(key, entry);
  }

  /** Writes what was counted; what fails to be written is counted again next time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.counts.size === 0) return;
      const taken = [...this.counts.values()];
      this.counts = new Map();
      try {
        await this.db.execute(sql`
          INSERT INTO api_token_usage AS u (token_id, day, requests, signatures)
          SELECT t.token_id, t.day, t.requests, t.signatures
          FROM jsonb_to_recordset(${JSON.stringify(taken.map((entry) => ({ token_id: entry.tokenId, day: entry.day, requests: entry.requests, signatures: entry.signatures })))}::jsonb)
            AS t(token_id int, day text, requests bigint, signatures bigint)
          WHERE EXISTS (SELECT 1 FROM api_tokens WHERE id = t.token_id)
          ON CONFLICT (token_id, day) DO UPDATE SET requests = u.requests + EXCLUDED.requests, signatures = u.signatures + EXCLUDED.signatures`);
        await this.db.execute(sql`
          UPDATE api_tokens SET last_used_at = now()
          WHERE id IN (SELECT unnest(${`{${[...new Set(taken.map((entry) => entry.tokenId))].join(',')}}`}::int[]))`);
      } catch (error) {
        for (const entry of taken) {
          const key = `${entry.tokenId}:${entry.day}`;
          const now = this.counts.get(key) ?? { ...entry, requests: 0, signatures: 0 };
          this.counts.set(key, {
            ...now,
            requests: now.requests + entry.requests,
            signatures: now.signatures + entry.signatures,
          });
        }
        this.logger.warn({ err: error }, 'could not record API token use; trying again later');
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

/**
 * One audit entry (`api-token.used`) per token and finished UTC day, with its requests and
 * signatures, then the day is marked summarised: each day is summarised once.
 */
export async function summariseTokenUse(db: Database, now = new Date()): Promise<number> {
  return db.transaction(async (tx) => {
    const days = await queryRows<{
      token_id: number;
      day: string;
      requests: number | string;
      signatures: number | string;
      name: string;
      campaign_id: number | null;
    }>(
      tx,
      sql`UPDATE api_token_usage u SET summarized = true FROM api_tokens t
          WHERE t.id = u.token_id AND NOT u.summarized AND u.day < ${today(now)}
          RETURNING u.token_id, u.day, u.requests, u.signatures, t.name, t.campaign_id`,
    );
    if (days.length > 0) {
      // Written by the platform itself, not by a person.
      await recordPlatformAudit(
        tx,
        days.map((day) => ({
          action: 'api-token.used',
          campaignId: day.campaign_id === null ? null : Number(day.campaign_id),
          details: {
            tokenId: Number(day.token_id),
            name: day.name,
            day: day.day,
            requests: Number(day.requests),
            signatures: Number(day.signatures),
          },
        })),
      );
    }
    return days.length;
  });
}
