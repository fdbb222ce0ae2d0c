import { UsageError, commandArgs, runCli } from '../cli';
import { campaignForCommand } from '../campaigns/directory';
import { configFromProcess } from '../config';
import { openDatabase } from '../db/client';
import { partnerForCommand } from '../partners/partner-accounts';
import { FieldEncryption } from '../db/field-encryption';
import { addWebhook, eventList, receiverUrl } from './subscriptions';

const USAGE =
  'Usage: npm run webhooks:add -- --campaign <slug> [--partner <source code>] --url <https://…> [--events signature,outreach,person.erased]';

/**
 * `npm run webhooks:add -- --campaign … [--partner …] --url … [--events …]`: subscribes a receiver
 * to a campaign's events (a partner's receiver hears only of that partner's consenting
 * supporters) and prints its signing secret once, alone on standard output. Every event unless
 * --events says otherwise. In embedded mode stop the platform first.
 */
runCli('webhooks:add', async () => {
  const values = commandArgs(
    {
      campaign: { type: 'string' },
      partner: { type: 'string' },
      url: { type: 'string' },
      events: { type: 'string' },
    },
    USAGE,
  );
  if (values.campaign === undefined) throw new UsageError(`--campaign is required. ${USAGE}`);
  if (values.url === undefined) throw new UsageError(`--url is required. ${USAGE}`);
  const config = configFromProcess();
  const url = receiverUrl(config.webhooks.allowPrivate).safeParse(values.url);
  if (!url.success) throw new UsageError(`--url: ${url.error.issues[0]!.message}`);
  const events = eventList.safeParse(values.events ?? 'signature,outreach,person.erased');
  if (!events.success) throw new UsageError(`--events: ${events.error.issues[0]!.message}`);

  const database = await openDatabase(config);
  try {
    await database.migrate();
    const campaign = await campaignForCommand(database.db, values.campaign);
    const partnerId =
      values.partner === undefined
        ? null
        : (await partnerForCommand(database.db, campaign, values.partner)).id;
    const { secret } = await addWebhook(
      { db: database.db, encryption: new FieldEncryption(config.encryption) },
      { campaignId: campaign.id, partnerId, url: url.data, events: events.data },
      'command line',
    );
    process.stderr.write(
      `Subscribed ${url.data} to ${events.data.join(', ')} of ${campaign.slug}${values.partner ? ` (partner ${values.partner})` : ''}. ` +
        'Its signing secret is shown once, below: give it to the receiver, which checks each delivery with it.\n',
    );
    process.stdout.write(`${secret}\n`);
  } finally {
    await database.close();
  }
});
