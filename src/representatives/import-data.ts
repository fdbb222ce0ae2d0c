import path from 'node:path';
import { SingleBar } from 'cli-progress';
import { UsageError, commandArgs, runCli } from '../cli';
import { configFromProcess } from '../config';
import { openDatabase } from '../db/client';
import { holdLettersToDeparted } from '../letters/held-letters';
import { downloadRepresentativeData } from './download';
import { importRepresentativeData, withImportLock } from './import';
import type { ProgressReporter } from './snapshot';
import { DataError } from './sources';

const USAGE =
  'Usage: npm run data:import -- [--from <dir> | --download [--to <dir>] [--mirror <url>]] [--force]';

/**
 * `npm run data:import -- --from <dir>` (or `--download`, from the publishers): imports the public representative data as the new
 * active snapshot (see the README's "Representative data"). A malformed file stops the import
 * with the file, the record and the reason (exit code 2) and nothing of it is kept. What changed
 * is recorded and letters waiting for officials who left are held, as after a refresh. It waits
 * for an import running elsewhere (a worker's) to finish first. In embedded mode, stop the
 * platform first: the embedded database belongs to one process.
 */
runCli('data:import', async () => {
  const values = commandArgs(
    {
      from: { type: 'string' },
      force: { type: 'boolean' },
      download: { type: 'boolean' },
      to: { type: 'string' },
      mirror: { type: 'string' },
    },
    USAGE,
  );
  if (values.download && values.from)
    throw new UsageError(`give --from or --download, not both. ${USAGE}`);
  if ((values.to || values.mirror) && !values.download)
    throw new UsageError(`--to and --mirror go with --download. ${USAGE}`);
  if (values.mirror && !/^https?:\/\//.test(values.mirror))
    throw new UsageError('--mirror must be an http:// or https:// URL');
  const config = configFromProcess();
  const dir = values.download
    ? path.resolve(values.to ?? path.join(config.dataDir, 'rep-data'))
    : values.from
      ? path.resolve(values.from)
      : config.repDataDir;
  if (!dir)
    throw new UsageError(
      `--from is required (no REP_DATA_DIR is set and ../shared/data does not exist). ${USAGE}`,
    );

  if (values.download) {
    const fetching = progressReporter('Downloading');
    try {
      await downloadRepresentativeData(dir, {
        mirror: values.mirror ?? config.repDataMirror,
        progress: fetching.report,
      });
    } finally {
      fetching.stop();
    }
    process.stdout.write(`Downloaded the representative data into ${dir}.\n`);
  }

  const database = await openDatabase(config);
  const progress = progressReporter('Importing');
  try {
    await database.migrate();
    const outcome = await withImportLock({ db: database.db, database }, () =>
      importRepresentativeData(database.db, dir, {
        force: values.force,
        progress: progress.report,
        // The platform's letters to officials who left wait for staff, as after a refresh.
        onDeparted: (tx, departed) => holdLettersToDeparted(tx, departed),
      }),
    );
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
    if (!outcome.unchanged) {
      const changes = Object.entries(outcome.changes)
        .map(([kind, count]) => `${kind} ${count}`)
        .join(', ');
      process.stdout.write(`Changes: ${changes}; letters held: ${outcome.held}.\n`);
    }
  } catch (error) {
    progress.stop();
    if (error instanceof DataError) throw new UsageError(`${error.message}. Nothing was imported.`);
    throw error;
  } finally {
    await database.close();
  }
});

/** A bar on a terminal; one line per step otherwise (logs, CI). */
function progressReporter(label: string): { report: ProgressReporter; stop(): void } {
  if (process.stderr.isTTY) {
    const bar = new SingleBar({
      format: `${label} [{bar}] {value}/{total} {step}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    });
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
    report: (step, done, total) =>
      process.stderr.write(
        `[${((performance.now() - began) / 1000).toFixed(1)} s] ${label} ${done}/${total} ${step}\n`,
      ),
    stop: () => undefined,
  };
}
