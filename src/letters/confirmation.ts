import { sql } from 'drizzle-orm';
import type { AppContext } from '../context';
import { queryRows } from '../db/client';
import { messageIdFor, type Mailer } from '../delivery/mailer';
import { unsubscribeHeaders, unsubscribeUrl } from '../privacy/emails';
import type { MailBudget } from '../privacy/notices';
import { campaignsWith } from '../campaigns/directory';
import { campaignTitle } from '../campaigns/texts';
import type { CampaignTranslations } from '../db/schema';
import { DEFAULT_LANGUAGE, languageOf, translator } from '../i18n/translations';
import { describeOffice } from '../representatives/labels';

/**
 * The supporter's confirmation: whom their letters went to and the private link to follow them. Sent
 * at most once (claimed before the send, released if the send fails so that the job retries);
 * not at all when the supporter asked for no copy. An address that has had its share of emails
 * this window (`budget`, the same as signers' emails) waits: the confirmation is handed back, and
 * the sweep sends it once the window has turned.
 */
export async function sendConfirmation(
  ctx: Pick<AppContext, 'db' | 'encryption' | 'config'>,
  mailer: Mailer,
  actionId: number,
  budget?: MailBudget,
): Promise<'sent' | 'later' | 'none'> {
  const [action] = await queryRows<{
    email: Uint8Array;
    status_token: string;
    campaign_id: number;
    campaign_title: string;
    translations: CampaignTranslations | null;
    language: string;
  }>(
    ctx.db,
    sql`UPDATE letter_actions a SET confirmation_sent_at = now()
        FROM ${campaignsWith('title', 'translations')} c
        WHERE a.id = ${actionId}::bigint AND c.id = a.campaign_id AND a.confirmation_sent_at IS NULL AND a.wants_copy
        RETURNING a.email, a.status_token, c.id AS campaign_id, c.title AS campaign_title, c.translations, a.language`,
  );
  if (!action) return 'none';
  const release = () =>
    ctx.db.execute(
      sql`UPDATE letter_actions SET confirmation_sent_at = NULL WHERE id = ${actionId}::bigint`,
    );
  // Claimed above; released if anything below fails, so that a retry (or the sweep) sends it.
  try {
    const email = ctx.encryption.open('letter_actions.email', action.email);
    if (budget && (await budget.hit(email)).limited) {
      await release();
      return 'later';
    }
    await send(ctx, mailer, actionId, { ...action, email });
    return 'sent';
  } catch (error) {
    await release();
    throw error;
  }
}

/**
 * The confirmation holds only the platform's own words: whom the letters went to (from the
 * representative data) and the private link to follow them, where the letters themselves are.
 * Anyone can type any address into the letter form, so nothing the writer typed (their name,
 * their words) is ever relayed to that address under the campaign's sender.
 */
async function send(
  ctx: Pick<AppContext, 'db' | 'encryption' | 'config'>,
  mailer: Mailer,
  actionId: number,
  action: {
    email: string;
    status_token: string;
    campaign_id: number;
    campaign_title: string;
    translations: CampaignTranslations | null;
    language: string;
  },
): Promise<void> {
  const sent = await queryRows<{
    target_title: string;
    target_name: string;
    channel: string;
    office: string;
    target_state: string | null;
    target_district: string | null;
  }>(
    ctx.db,
    sql`SELECT target_title, target_name, channel, office, target_state, target_district FROM letters WHERE action_id = ${actionId}::bigint ORDER BY id`,
  );
  // In the language the supporter wrote in.
  const tr = translator(languageOf(action.language) ?? DEFAULT_LANGUAGE);
  const title = campaignTitle(
    { title: action.campaign_title, translations: action.translations ?? {} },
    tr.language,
  );
  const statusUrl = `${ctx.config.publicUrl}/letters/${action.status_token}${tr.language === DEFAULT_LANGUAGE ? '' : `?lng=${tr.language}`}`;
  const text = [
    tr.t('emails:hello'),
    '',
    tr.t('emails:letters.intro', { title, count: sent.length }),
    '',
    ...sent.map((letter) => {
      const office = describeOffice(
        {
          office: letter.office,
          targetTitle: letter.target_title,
          targetState: letter.target_state,
          targetDistrict: letter.target_district,
        },
        tr,
      );
      return `- ${letter.target_name}, ${office}${letter.channel === 'hand' ? ` ${tr.t('emails:letters.byHand')}` : ''}`;
    }),
    '',
    tr.t('emails:letters.follow'),
    statusUrl,
    '',
    tr.t('emails:letters.notYou'),
  ].join('\n');
  const outcome = await mailer.send({
    from: ctx.config.delivery.from,
    to: action.email,
    subject: tr
      .t('emails:letters.subject', { title })
      .replace(/[\r\n\u2028\u2029]+/g, ' ')
      .slice(0, 200),
    text,
    messageId: messageIdFor(`confirm-${actionId}`, ctx.config.delivery.from),
    // One-click unsubscribe from the campaign's updates (and its partners'), as on every email to a supporter.
    headers: unsubscribeHeaders(
      ctx.config,
      unsubscribeUrl(ctx.config, action.email, Number(action.campaign_id)),
    ),
  });
  if (outcome.outcome !== 'delivered') throw new Error(`confirmation not sent: ${outcome.error}`);
}
