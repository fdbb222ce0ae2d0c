import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class LockedError extends Error {}

/** Lock files this process holds now (its own pid in a file it does not hold is a stale leftover). */
const held = new Set<string>();

/**
 * A pid file that keeps a second process away from something only one may use (the embedded
 * database). A lock left by a process that no longer runs is taken over.
 */
export function acquirePidLock(file: string, what: string): { release(): void } {
  const inUse = (holder: number) =>
    new LockedError(
      `${what} is in use by process ${holder}. Stop it first (Ctrl-C in the terminal running \`npm start\`).`,
    );
  const path = resolve(file);
  if (held.has(path)) throw inUse(process.pid);
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number(readFileSync(path, 'utf8').trim());
    if (holder !== process.pid && Number.isInteger(holder) && holder > 0 && isProcessAlive(holder))
      throw inUse(holder);
    writeFileSync(path, String(process.pid));
  }
  held.add(path);
  return {
    release: () => {
      held.delete(path);
      rmSync(path, { force: true });
    },
  };
}
