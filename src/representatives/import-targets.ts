import { readFileSync } from 'node:fs';
import { UsageError, commandLine, runCli } from '../cli';
import { campaignForCommand } from '../campaigns/directory';
import { configFromProcess } from '../config';
import { openDatabase } from '../db/client';
import { customTargetListName, importCustomTargets } from './custom-targets';

const USAGE = 'Usage: npm run targets:import -- --campaign <slug> --list "<name>" <file.csv>';

/**
 * `npm run targets:import -- --campaign <slug> --list "<name>" <file.csv>`: replaces the campaign's
 * target list of that name with the file's rows. A file with any error writes nothing; each error is
 * printed as `<file>:<line>: <column>: <message>`. In embedded mode stop the platform first: the
 * embedded database belongs to one process.
 */
runCli('targets:import', async () => {
  const { values, positionals } = commandLine(
    { campaign: { type: 'string' }, list: { type: 'string' } },
    USAGE,
    true,
  );
  if (!values.campaign) throw new UsageError(`--campaign is required. ${USAGE}`);
  if (values.list === undefined) throw new UsageError(`--list is required. ${USAGE}`);
  if (positionals.length !== 1) throw new UsageError(`give exactly one CSV file. ${USAGE}`);
  const listName = customTargetListName.safeParse(values.list);
  if (!listName.success) throw new UsageError(`--list: ${listName.error.issues[0]!.message}`);
  const file = positionals[0]!;
  let csvText: string;
  try {
    csvText = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }

  const config = configFromProcess();
  const database = await openDatabase(config);
  try {
    await database.migrate();
    const campaign = await campaignForCommand(database.db, values.campaign);
    const result = await importCustomTargets(database.db, campaign.id, listName.data, csvText);
    if (!result.ok) {
      for (const error of result.errors)
        process.stderr.write(`${file}:${error.row}: ${error.field}: ${error.message}\n`);
      const count = result.errors.length;
      throw new UsageError(
        `nothing imported: ${count} ${count === 1 ? 'error' : 'errors'} in ${file}`,
      );
    }
    process.stdout.write(
      `Imported ${result.imported} targets into list "${listName.data}" of ${campaign.slug}.\n`,
    );
  } finally {
    await database.close();
  }
});
