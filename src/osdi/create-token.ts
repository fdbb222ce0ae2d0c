import { UsageError, commandArgs, runCli } from '../cli';
import { campaignForCommand } from '../campaigns/directory';
import { configFromProcess } from '../config';
import { openDatabase } from '../db/client';
import { partnerForCommand } from '../partners/partner-accounts';
import { createApiToken, tokenName, tokenScopes } from './tokens';

const USAGE =
  'Usage: npm run api:token -- --name "<label>" [--campaign <slug>] [--partner <source code>] [--scope read|sign|read,sign]';

/**
 * `npm run api:token -- --name … [--campaign …] [--partner …] [--scope …]`: creates an OSDI API
 * token and prints it once, alone on standard output (what it is for goes to standard error), so a
 * script can take it. Without --campaign it reaches every campaign; --partner (which needs
 * --campaign) makes it a partner's token, which sees only that partner's consenting supporters.
 * The scope is `read` unless given. In embedded mode stop the platform first.
 */
runCli('api:token', async () => {
  const values = commandArgs(
    {
      name: { type: 'string' },
      campaign: { type: 'string' },
      partner: { type: 'string' },
      scope: { type: 'string' },
    },
    USAGE,
  );
  if (values.name === undefined) throw new UsageError(`--name is required. ${USAGE}`);
  const name = tokenName.safeParse(values.name);
  if (!name.success) throw new UsageError(`--name: ${name.error.issues[0]!.message}`);
  const scopes = tokenScopes.safeParse(values.scope ?? 'read');
  if (!scopes.success) throw new UsageError(`--scope: ${scopes.error.issues[0]!.message}`);
  if (values.partner !== undefined && values.campaign === undefined)
    throw new UsageError(`--partner needs --campaign: a partner belongs to one campaign. ${USAGE}`);

  const database = await openDatabase(configFromProcess());
  try {
    await database.migrate();
    let campaignId: number | null = null;
    let partnerId: number | null = null;
    if (values.campaign !== undefined) {
      const campaign = await campaignForCommand(database.db, values.campaign);
      campaignId = campaign.id;
      if (values.partner !== undefined)
        partnerId = (await partnerForCommand(database.db, campaign, values.partner)).id;
    }
    const { token } = await createApiToken(
      database.db,
      { name: name.data, scopes: scopes.data, campaignId, partnerId },
      'command line',
    );
    process.stderr.write(
      `Created the API token "${name.data}" (${scopes.data.join(', ')}) for ${values.campaign ?? 'every campaign'}${values.partner ? `, partner ${values.partner}` : ''}. ` +
        'It is shown once, below; keep it secret (send it as the OSDI-API-Token header).\n',
    );
    process.stdout.write(`${token}\n`);
  } finally {
    await database.close();
  }
});
