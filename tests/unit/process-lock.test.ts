import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquirePidLock, LockedError, STALE_MS } from '../../src/process-lock';

const projectRoot = path.resolve(__dirname, '..', '..');
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'frb-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A pid no process has any more: a child that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

/** What a process that was killed while holding the lock leaves: the lock, not refreshed for long, and its pid. */
function leftByDeadProcess(file: string): void {
  mkdirSync(`${file}.lock`);
  const past = new Date(Date.now() - STALE_MS * 3);
  utimesSync(`${file}.lock`, past, past);
  writeFileSync(file, String(deadPid()));
}

describe('acquirePidLock (proper-lockfile)', () => {
  it('keeps a second holder away, naming the process that holds it, until it is released', async () => {
    const file = path.join(dir, 'pg.lock');
    const lock = await acquirePidLock(file, 'The embedded database');
    expect(readFileSync(file, 'utf8')).toBe(String(process.pid));
    const second = acquirePidLock(file, 'The embedded database');
    await expect(second).rejects.toThrow(LockedError);
    await expect(acquirePidLock(file, 'The embedded database')).rejects.toThrow(
      `The embedded database is in use by process ${process.pid}.`,
    );
    lock.release();
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.lock`)).toBe(false);
    (await acquirePidLock(file, 'The embedded database')).release();
  });

  it('takes over a lock left by a process that died', async () => {
    const file = path.join(dir, 'redis.lock');
    leftByDeadProcess(file);
    const lock = await acquirePidLock(file, 'The embedded Redis');
    expect(readFileSync(file, 'utf8')).toBe(String(process.pid));
    lock.release();
  });

  it('lets exactly one of several processes take over the same stale lock at once', async () => {
    const file = path.join(dir, 'pg.lock');
    leftByDeadProcess(file);
    const script = `
      const { acquirePidLock } = require(${JSON.stringify(path.join(projectRoot, 'src', 'process-lock.ts'))});
      acquirePidLock(${JSON.stringify(file)}, 'The embedded database').then(
        async (lock) => { console.log('taken'); await new Promise((r) => setTimeout(r, 4000)); lock.release(); },
        (error) => console.log(error.constructor.name));`;
    const racers = Array.from(
      { length: 4 },
      () =>
        new Promise<string>((done, fail) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
            cwd: projectRoot,
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
          child.on('error', fail);
          child.on('exit', () => done(out.trim()));
        }),
    );
    const answers = await Promise.all(racers);
    expect(answers.filter((answer) => answer === 'taken')).toHaveLength(1);
    expect(answers.filter((answer) => answer === 'LockedError')).toHaveLength(3);
  });
});
