import path from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { UsageError, runCli } from '../cli';
import { configFromProcess } from '../config';
import { openDatabase } from '../db/client';
import { importRepresentativeData } from './import';
import type { ProgressReporter } from './snapshot';
import { DataError } from './sources';

const USAGE = 'Usage: npm run data:import -- --from <dir> [--force]';

/**
 * `npm run data:import -- --from <dir>`: imports the public representative data as the new
 * active snapshot (see the README's "Representative data"). A malformed file stops the import
 * with the file, the record and the reason (exit code 2) and nothing of it is kept. In embedded
 * mode, stop the platform first: the embedded database belongs to one process.
 */
runCli('data:import', async () => {
  let values: { from?: string; force?: boolean };
  try {
    values = parseArgs({ options: { from: { type: 'string' }, force: { type: 'boolean' } } }).values;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. ${USAGE}`);
  }
  const config = configFromProcess();
  const dir = values.from ? path.resolve(values.from) : config.repDataDir;
  if (!dir) throw new UsageError(`--from is required (no REP_DATA_DIR is set and ../shared/data does not exist). ${USAGE}`);

  const database = await openDatabase(config);
  const progress = progressReporter();
  try {
    await database.migrate();
    const outcome = await importRepresentativeData(database.db, dir, { force: values.force, progress: progress.report });
    progress.stop();
    const counts = Object.entries(outcome.counts)
      .map(([name, count]) => `${name} ${count}`)
      .join(', ');
    process.stdout.write(
      outcome.unchanged
        ? `Unchanged: ${dir} holds the files of the active snapshot ${outcome.snapshotId} (use --force to import them again).\n`
        : `Imported snapshot ${outcome.snapshotId} from ${dir} in ${outcome.seconds.toFixed(1)} s.\n`,
    );
    process.stdout.write(`Counts: ${counts}.\n`);
  } catch (error) {
    progress.stop();
    if (error instanceof DataError) throw new UsageError(`${error.message}. Nothing was imported.`);
    throw error;
  } finally {
    await database.close();
  }
});

/** A bar on a terminal; one line per step otherwise (logs, CI). */
function progressReporter(): { report: ProgressReporter; stop(): void } {
  if (process.stderr.isTTY) {
    const bar = new SingleBar({ format: 'Importing [{bar}] {value}/{total} {step}', stream: process.stderr, hideCursor: true, clearOnComplete: true });
    let started = false;
    return {
      report: (step, done, total) => {
        if (!started) bar.start(total, done, { step });
        started = true;
        bar.update(done, { step });
      },
      stop: () => bar.stop(),
    };
  }
  const began = performance.now();
  return {
    report: (step, done, total) => process.stderr.write(`[${((performance.now() - began) / 1000).toFixed(1)} s] ${done}/${total} ${step}\n`),
    stop: () => undefined,
  };
}
