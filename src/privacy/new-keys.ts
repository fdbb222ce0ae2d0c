import { commandArgs, runCli } from '../cli';
import { configuredKeyIds } from '../config';
import { newKey } from '../db/field-encryption';

/**
 * `npm run keys:new`: prints fresh keys. A new installation sets both. To rotate the encryption
 * key, the new entry is added to ENCRYPTION_KEYS after the keys there now (every process restarted
 * can then read what it will seal), then moved first (it seals from then on), then
 * `npm run keys:rotate` seals the older data under it. The keys here are printed once and kept
 * nowhere: store them in the deployment's secret store, apart from the database backups.
 */
runCli('keys:new', async () => {
  commandArgs({}, 'Usage: npm run keys:new');
  // The keys there now, if any (a new installation has none: its first key is 1).
  const used = configuredKeyIds();
  const newest = Math.max(0, ...used);
  const nextId =
    newest < 255
      ? newest + 1
      : Array.from({ length: 255 }, (_, index) => index + 1).find((id) => !used.includes(id))!;
  process.stdout.write(
    [
      `ENCRYPTION_KEYS=${nextId}:${newKey()}`,
      `LOOKUP_HASH_KEY=${newKey()}`,
      '',
      'A new installation: set both.',
      'Rotating the encryption key (leave LOOKUP_HASH_KEY as it is):',
      `  1. add the new entry after the keys there now (ENCRYPTION_KEYS=<current value>,${nextId}:<new key>) and restart every web and worker process;`,
      `  2. move it first (ENCRYPTION_KEYS=${nextId}:<new key>,<current value>) and restart them again;`,
      '  3. run `npm run keys:rotate`, and remove the old key once it says no value uses it.',
      'Embedded mode: the same, in the encryptionKeys field of DATA_DIR/keys.json.',
      '',
    ].join('\n'),
  );
});
