import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { eq } from 'drizzle-orm';
import { UsageError, runCli } from '../cli';
import { configFromProcess } from '../config';
import { openDatabase } from '../db/client';
import { campaigns } from '../db/schema';
import { FieldEncryption } from '../privacy/field-encryption';
import { handDeliveryPackets } from './hand-delivery';

const USAGE = 'Usage: npm run letters:hand-delivery -- --campaign <slug> [--out <dir>]';

/**
 * `npm run letters:hand-delivery -- --campaign <slug>`: writes one text file per office with the
 * letters the campaign delivers by hand. In embedded mode, stop the platform first.
 */
runCli('letters:hand-delivery', async () => {
  let values: { campaign?: string; out?: string };
  try {
    values = parseArgs({ options: { campaign: { type: 'string' }, out: { type: 'string' } } }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. ${USAGE}`);
  }
  if (!values.campaign) throw new UsageError(`--campaign is required. ${USAGE}`);
  const config = configFromProcess();
  const database = await openDatabase(config);
  try {
    await database.migrate();
    const [campaign] = await database.db.select().from(campaigns).where(eq(campaigns.slug, values.campaign));
    if (!campaign) throw new UsageError(`no campaign with slug "${values.campaign}"`);
    const out = path.resolve(values.out ?? path.join(config.dataDir, 'hand-delivery', campaign.slug));
    mkdirSync(out, { recursive: true });
    const packets = await handDeliveryPackets({ db: database.db, encryption: new FieldEncryption(config.encryption) }, campaign.id);
    for (const packet of packets) {
      writeFileSync(path.join(out, `${packet.targetKey.replace(/[^\w.-]+/g, '_')}.txt`), `${packet.text}\n`, { mode: 0o600 });
    }
    process.stdout.write(`${packets.reduce((sum, p) => sum + p.letters, 0)} letters for ${packets.length} offices written to ${out}.\n`);
  } finally {
    await database.close();
  }
});
