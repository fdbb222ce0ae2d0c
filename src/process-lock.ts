import { readFileSync, rmSync, writeFileSync } from 'node:fs';

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class LockedError extends Error {}

/**
 * A pid file that keeps a second process away from something only one may use (the embedded
 * database). A lock left by a process that no longer runs is taken over.
 */
export function acquirePidLock(file: string, what: string): { release(): void } {
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number(readFileSync(file, 'utf8').trim());
    if (holder !== process.pid && Number.isInteger(holder) && holder > 0 && isProcessAlive(holder)) {
      throw new LockedError(`${what} is in use by process ${holder}. Stop it first (Ctrl-C in the terminal running \`npm start\`).`);
    }
    writeFileSync(file, String(process.pid));
  }
  return { release: () => rmSync(file, { force: true }) };
}
