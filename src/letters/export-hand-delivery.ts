import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { UsageError, commandArgs, runCli } from '../cli';
import { campaignForCommand } from '../campaigns/directory';
import { configFromProcess } from '../config';
import { openDatabase } from '../db/client';
import { FieldEncryption } from '../db/field-encryption';
import { findPacket, officesWaiting, packetSource, type PacketSelection } from './hand-packets';
import { writePacketPdf, writePacketText } from './packet-documents';

const USAGE =
  'Usage: npm run letters:hand-delivery -- --campaign <slug> [--packet <id>] [--pdf] [--out <dir>]';

/**
 * `npm run letters:hand-delivery -- --campaign <slug>`: for scripts. Writes, per office, the
 * letters waiting for hand delivery that are in no packet yet (`<office>.txt`, and `.pdf` with
 * `--pdf`), or with `--packet <id>` one packet prepared in the staff console. Changes nothing: the
 * console prepares packets and marks them delivered. In embedded mode, stop the platform first.
 */
runCli('letters:hand-delivery', async () => {
  const values = commandArgs(
    {
      campaign: { type: 'string' },
      out: { type: 'string' },
      packet: { type: 'string' },
      pdf: { type: 'boolean' },
    },
    USAGE,
  );
  if (!values.campaign) throw new UsageError(`--campaign is required. ${USAGE}`);
  if (values.packet !== undefined && !/^\d{1,15}$/.test(values.packet))
    throw new UsageError(`--packet takes a packet number. ${USAGE}`);
  const config = configFromProcess();
  const database = await openDatabase(config);
  try {
    await database.migrate();
    const campaign = await campaignForCommand(database.db, values.campaign);
    const ctx = { db: database.db, encryption: new FieldEncryption(config.encryption) };

    const selections: Array<{ file: string; selection: PacketSelection }> = [];
    if (values.packet !== undefined) {
      const packet = await findPacket(ctx.db, campaign.id, Number(values.packet));
      if (!packet)
        throw new UsageError(`campaign "${campaign.slug}" has no packet ${values.packet}`);
      selections.push({ file: `packet-${packet.id}`, selection: { packet } });
    } else {
      for (let page = 0; ; page++) {
        const { offices, more } = await officesWaiting(ctx.db, campaign.id, page);
        for (const office of offices)
          selections.push({
            file: office.targetKey.replace(/[^\w.-]+/g, '_'),
            selection: { campaignId: campaign.id, targetKey: office.targetKey },
          });
        if (!more) break;
      }
    }

    const out = path.resolve(
      values.out ?? path.join(config.dataDir, 'hand-delivery', campaign.slug),
    );
    mkdirSync(out, { recursive: true });
    let letters = 0;
    for (const { file, selection } of selections) {
      // Owner-only: the letters carry their writers' names.
      const text = await writePacketText(
        await packetSource(ctx, selection),
        createWriteStream(path.join(out, `${file}.txt`), { mode: 0o600 }),
      );
      letters += text.letters;
      if (values.pdf)
        await writePacketPdf(
          await packetSource(ctx, selection),
          createWriteStream(path.join(out, `${file}.pdf`), { mode: 0o600 }),
        );
    }
    process.stdout.write(
      `${letters} letters for ${selections.length} ${selections.length === 1 ? 'office' : 'offices'} written to ${out}.\n`,
    );
  } finally {
    await database.close();
  }
});
