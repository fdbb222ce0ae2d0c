import { runCli } from '../cli';
import { configFromProcess } from '../config';
import { newKey } from './field-encryption';

/**
 * `npm run keys:new`: prints fresh keys. A new installation sets both. To rotate the encryption
 * key, the new entry goes first in ENCRYPTION_KEYS, before the keys there now; after a restart of
 * every process, `npm run keys:rotate` seals the data under it. The keys here are printed once
 * and kept nowhere: store them in the deployment's secret store, apart from the database backups.
 */
runCli('keys:new', async () => {
  let used: number[] = [];
  try {
    used = configFromProcess().encryption.keys.map((key) => key.id);
  } catch {
    // No usable configuration here (a new installation): the first key is 1.
  }
  const newest = Math.max(0, ...used);
  const nextId = newest < 255 ? newest + 1 : Array.from({ length: 255 }, (_, index) => index + 1).find((id) => !used.includes(id))!;
  process.stdout.write(
    [
      `ENCRYPTION_KEYS=${nextId}:${newKey()}`,
      `LOOKUP_HASH_KEY=${newKey()}`,
      '',
      'A new installation: set both.',
      `Rotating the encryption key: put the new entry first, keeping the keys there now after it (ENCRYPTION_KEYS=${nextId}:<new key>,<current value>),`,
      'restart every web and worker process, then run `npm run keys:rotate`. Leave LOOKUP_HASH_KEY as it is unless it must change (see docs/SECURITY.md).',
      '',
    ].join('\n'),
  );
});
