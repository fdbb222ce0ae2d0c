import { sql } from 'drizzle-orm';
import type { AppContext } from '../context';
import { queryRows } from '../db/client';
import { messageIdFor, type Mailer } from '../delivery/mailer';
import { unsubscribeHeaders, unsubscribeUrl } from '../privacy/emails';
import type { MailBudget } from '../privacy/notices';

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
  const [action] = await queryRows<{ email: Uint8Array; status_token: string; campaign_id: number; campaign_title: string }>(
    ctx.db,
    sql`UPDATE letter_actions a SET confirmation_sent_at = now()
        FROM campaigns c
        WHERE a.id = ${actionId}::bigint AND c.id = a.campaign_id AND a.confirmation_sent_at IS NULL AND a.wants_copy
        RETURNING a.email, a.status_token, c.id AS campaign_id, c.title AS campaign_title`,
  );
  if (!action) return 'none';
  const release = () => ctx.db.execute(sql`UPDATE letter_actions SET confirmation_sent_at = NULL WHERE id = ${actionId}::bigint`);
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
  action: { email: string; status_token: string; campaign_id: number; campaign_title: string },
): Promise<void> {
  const sent = await queryRows<{ target_title: string; target_name: string; channel: string }>(
    ctx.db,
    sql`SELECT target_title, target_name, channel FROM letters WHERE action_id = ${actionId}::bigint ORDER BY id`,
  );
  const statusUrl = `${ctx.config.publicUrl}/letters/${action.status_token}`;
  const text = [
    'Hello,',
    '',
    `Thank you for writing to your representatives for the campaign "${action.campaign_title}". ` +
      `${sent.length === 1 ? 'Your letter is' : `Your ${sent.length} letters are`} on the way:`,
    '',
    ...sent.map((letter) => `- ${letter.target_name}, ${letter.target_title}${letter.channel === 'hand' ? ' (the campaign will deliver it by hand)' : ''}`),
    '',
    'Read your letters and follow each one here (this link is private to you: do not forward this email):',
    statusUrl,
    '',
    'Did not write? Someone may have typed your address by mistake: you can ignore this email.',
  ].join('\n');
  const outcome = await mailer.send({
    from: ctx.config.delivery.from,
    to: action.email,
    subject: `Your letters: ${action.campaign_title}`.slice(0, 200),
    text,
    messageId: messageIdFor(`confirm-${actionId}`, ctx.config.delivery.from),
    // One-click unsubscribe from the campaign's updates (and its partners'), as on every email to a supporter.
    headers: unsubscribeHeaders(ctx.config, unsubscribeUrl(ctx.config, action.email, Number(action.campaign_id))),
  });
  if (outcome.outcome !== 'delivered') throw new Error(`confirmation not sent: ${outcome.error}`);
}
