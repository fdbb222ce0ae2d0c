import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { lockSync } from 'proper-lockfile';

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
 * A lock not refreshed for this long was left by a process that died: the next one takes it over.
 * The holder refreshes it every `STALE_MS / 2`, from a timer, so a process busy for longer than
 * this (one long statement in the embedded database) finds its lock compromised: it keeps running,
 * and says so in the log.
 */
export const STALE_MS = 5_000;

/**
 * A lock that keeps a second process away from something only one may use (the embedded database,
 * the embedded Redis). It is proper-lockfile's: a directory made with `mkdir`, which only one
 * process can create, refreshed while held, and taken over once stale; so two processes that
 * find the same stale lock cannot both take it. The holder's pid is written beside it (the `file`
 * itself), for the message that names it. A lock left by a process that no longer runs is taken
 * over once stale (within `STALE_MS`), waiting for it if need be.
 */
export async function acquirePidLock(
  file: string,
  what: string,
  options: { onCompromised?: (error: Error) => void } = {},
): Promise<{ release(): void }> {
  const inUse = (holder: number) =>
    new LockedError(
      `${what} is in use by process ${holder}. Stop it first (Ctrl-C in the terminal running \`npm start\`).`,
    );
  const path = resolve(file);
  const deadline = Date.now() + STALE_MS * 2;
  for (;;) {
    let unlock: () => void;
    try {
      unlock = lockSync(path, {
        realpath: false,
        stale: STALE_MS,
        update: STALE_MS / 2,
        onCompromised: options.onCompromised ?? (() => undefined),
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      const holder = pidIn(path);
      // Held by a running process (this one included), or not yet stale long after its holder died.
      if (
        holder === process.pid ||
        (holder !== undefined && isProcessAlive(holder)) ||
        Date.now() > deadline
      )
        throw inUse(holder ?? 0);
      await sleep(100);
      continue;
    }
    writeFileSync(path, String(process.pid));
    return {
      release: () => {
        rmSync(path, { force: true });
        try {
          unlock();
        } catch {
          // Already released, or taken over as stale: nothing of ours is left to remove.
        }
      },
    };
  }
}

function pidIn(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
