import { UsageError, commandArgs, runCli } from '../cli';
import { configFromProcess } from '../config';
import { openDatabase } from '../db/client';
import { sealedTables } from '../db/sealed-rows';
import { FieldEncryption } from '../db/field-encryption';
import { checkKeys, finishReindexing, retireUnusedKeys, startReindexing } from '../db/key-checks';
import { keyCensus, missingKeys, resealAll, type KeyCensus } from '../db/key-rotation';

const USAGE = 'Usage: npm run keys:rotate [-- --check] [-- --reindex]';

/**
 * `npm run keys:rotate`: seals every value of supporters' personal data still under an older
 * encryption key again under the first key of ENCRYPTION_KEYS, then says which keys the data
 * uses, and so which can be removed. `--check` only says that. `--reindex` also makes every email
 * hash again with the LOOKUP_HASH_KEY configured now (after changing it; the platform stopped:
 * no process starts until it has finished).
 * In embedded mode, stop the platform first: the embedded database belongs to one process.
 */
runCli('keys:rotate', async () => {
  const values = commandArgs({ check: { type: 'boolean' }, reindex: { type: 'boolean' } }, USAGE);
  if (values.check && values.reindex)
    throw new UsageError(`--check and --reindex do not go together. ${USAGE}`);
  const config = configFromProcess();
  const encryption = new FieldEncryption(config.encryption);
  const database = await openDatabase(config);
  const say = (text: string) => process.stdout.write(`${text}\n`);
  try {
    // With --reindex the lookup key is the new one, which the database's check would refuse.
    // Nothing is recorded before the census has shown the ring can open everything.
    await database.migrate({ reindexing: values.reindex, record: false });
    const before = await keyCensus(database.db);
    const missing = missingKeys(before, encryption);
    if (missing.length > 0) {
      say(describe(before));
      throw new UsageError(
        `some values are sealed with key${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which ENCRYPTION_KEYS does not hold: add ${missing.length > 1 ? 'them' : 'it'} back, after the current key, and run this again`,
      );
    }
    if (!values.check) {
      await checkKeys(database.db, config.encryption, { reindexing: values.reindex });
      const started = Date.now();
      // No process starts while the hashes are being made again (one already running is the operator's to stop).
      if (values.reindex) await startReindexing(database.db);
      const { rows } = await resealAll(
        { db: database.db, encryption },
        {
          reindex: values.reindex,
          onProgress: (table, done) => {
            if (done % 10_000 === 0) say(`  ${table}: ${done.toLocaleString('en-US')} rows so far`);
          },
        },
      ).catch((error: unknown) => {
        if ((error as { code?: string }).code !== '23505') throw error;
        throw new Error(
          'two signatures of one campaign now have the same email hash: a process still running signed during the reindex. Stop every process; the duplicate must be removed by hand before this can finish',
        );
      });
      if (values.reindex) await finishReindexing(database.db, config.encryption.lookupKey);
      const verb = values.reindex
        ? 'sealed under key ' + encryption.sealingKeyId + ' and hashed again'
        : 'sealed again under key ' + encryption.sealingKeyId;
      say(
        `Rows ${verb} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${sealedTables.map((table) => `${table} ${rows[table].toLocaleString('en-US')}`).join(', ')}.`,
      );
    }
    const after = values.check ? before : await keyCensus(database.db);
    // Processes may now run without the keys no value uses (and not without those still used).
    if (!values.check) await retireUnusedKeys(database.db, after);
    say(describe(after));
    const unused = encryption.keyIds.filter(
      (id) => id !== encryption.sealingKeyId && !sealedTables.some((table) => after[table].has(id)),
    );
    const stillUsed = encryption.keyIds.filter(
      (id) => id !== encryption.sealingKeyId && !unused.includes(id),
    );
    if (unused.length > 0)
      say(
        `No value is sealed with key ${unused.join(', ')}: it can be removed from ENCRYPTION_KEYS.`,
      );
    if (stillUsed.length > 0)
      say(
        `Key ${stillUsed.join(', ')} is still in use: run \`npm run keys:rotate\` to seal those values under key ${encryption.sealingKeyId}.`,
      );
  } finally {
    await database.close();
  }
});

function describe(census: KeyCensus): string {
  return [
    'Values sealed, by key:',
    ...sealedTables.map((table) => {
      const counts = [...census[table]].map(
        ([id, count]) => `key ${id}: ${count.toLocaleString('en-US')}`,
      );
      return `  ${table}: ${counts.length > 0 ? counts.join(', ') : 'none'}`;
    }),
  ].join('\n');
}
