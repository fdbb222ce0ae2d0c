import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * A Redis and a PostgreSQL of a test's own, to stop, kill and start again: the ones every test
 * shares (TEST_REDIS_URL, TEST_DATABASE_URL) must never be touched. Each lives in a temporary
 * directory, listens on 127.0.0.1 only, keeps nothing durable it does not need, and is stopped and
 * removed by `close()` (and, should the test process exit without it, when the process exits).
 */

const run = promisify(execFile);

/** A TCP port nothing listens on just now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Sends PING over a plain socket: true when the server answers PONG. */
function redisAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

export interface ThrowawayRedis {
  port: number;
  url: string;
  /** SIGKILL: Redis dies as in a crash, with whatever it had not written. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory (with its append-only file, if it keeps one). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A redis-server child process on a free port. `appendOnly` keeps its data across a kill (as
 * production and embedded mode run it); without it a restart comes back empty.
 */
export async function startThrowawayRedis(
  options: { appendOnly?: boolean } = {},
): Promise<ThrowawayRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'frb-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--appendonly',
    options.appendOnly ? 'yes' : 'no',
    '--logfile',
    path.join(dir, 'redis.log'),
  ];
  let child: ChildProcess | undefined;
  const stopOnExit = () => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopOnExit);

  const kill = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  const start = async () => {
    if (child) throw new Error('this Redis is already running');
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitFor(`redis-server on port ${port}`, () => redisAnswers(port));
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    kill,
    start,
    async close() {
      await kill();
      process.removeListener('exit', stopOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ThrowawayPostgres {
  port: number;
  /** Its `postgres` database, as the `postgres` role (trust authentication). */
  url: string;
  /** `pg_ctl stop`: `fast` ends sessions and shuts down cleanly; `immediate` is a crash (recovery on the next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The newest PostgreSQL server binaries installed: Debian's and Ubuntu's (`/usr/lib/postgresql/<v>/bin`),
 * Homebrew's (`postgresql@<v>`, kept off the PATH), else those on the PATH (`pg_config --bindir`, `initdb`).
 */
export function postgresBin(): string {
  const newestIn = (root: string, pattern: RegExp, bin: (dir: string) => string) => {
    const found = existsSync(root)
      ? readdirSync(root)
          .filter((name) => pattern.test(name) && existsSync(path.join(bin(name), 'initdb')))
          .sort((a, b) => Number(a.replace(/\D+/g, '')) - Number(b.replace(/\D+/g, '')))
      : [];
    const newest = found.at(-1);
    return newest ? bin(newest) : undefined;
  };
  const fromPath = () => {
    for (const [program, args] of [
      ['pg_config', ['--bindir']],
      ['sh', ['-c', 'dirname "$(command -v initdb)"']],
    ] as const) {
      try {
        const dir = execFileSync(program, args, { stdio: ['ignore', 'pipe', 'ignore'] })
          .toString()
          .trim();
        if (dir && existsSync(path.join(dir, 'initdb'))) return dir;
      } catch {
        // Not there: try the next way.
      }
    }
    return undefined;
  };
  const bin =
    newestIn('/usr/lib/postgresql', /^\d+$/, (version) =>
      path.join('/usr/lib/postgresql', version, 'bin'),
    ) ??
    newestIn('/opt/homebrew/opt', /^postgresql(@\d+)?$/, (name) =>
      path.join('/opt/homebrew/opt', name, 'bin'),
    ) ??
    newestIn('/usr/local/opt', /^postgresql(@\d+)?$/, (name) =>
      path.join('/usr/local/opt', name, 'bin'),
    ) ??
    fromPath();
  if (!bin) {
    throw new Error(
      'No PostgreSQL server binaries found. Install them: sudo apt-get install -y postgresql redis-server chromium (Debian, Ubuntu), ' +
        'or brew install postgresql@17 redis (macOS); bash .ci/run does it on Debian.',
    );
  }
  return bin;
}

/**
 * A PostgreSQL cluster of its own (`initdb` in a temporary directory, as `.ci/run` makes one), on
 * a free port, without fsync for speed. Commits still reach the operating system before they are
 * acknowledged (synchronous_commit stays on), so a killed server keeps every acknowledged commit,
 * as a real one does; only a crash of the machine could lose them.
 * `initdb` refuses to run as root: as root, the cluster belongs to the `postgres` user.
 */
export async function startThrowawayPostgres(
  settings: { maxConnections?: number } = {},
): Promise<ThrowawayPostgres> {
  const bin = postgresBin();
  const asRoot = process.getuid?.() === 0;
  const command = (program: string, args: string[]): [string, string[]] =>
    asRoot
      ? ['runuser', ['-u', 'postgres', '--', path.join(bin, program), ...args]]
      : [path.join(bin, program), args];
  let port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'frb-pg-'));
  if (asRoot) {
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
  }
  await run(
    ...command('initdb', [
      '-D',
      dir,
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale',
      'C',
    ]),
  );
  const options = () =>
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=${settings.maxConnections ?? 100}`;
  const pgCtl = (args: string[]) => run(...command('pg_ctl', ['-D', dir, ...args]));
  let running = false;
  const stopOnExit = () => {
    try {
      if (running)
        execFileSync(...command('pg_ctl', ['-D', dir, '-m', 'immediate', 'stop']), {
          stdio: 'ignore',
        });
    } catch {
      // Already stopped.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopOnExit);

  const start = async () => {
    await pgCtl(['-l', path.join(dir, 'server.log'), '-w', '-t', '60', '-o', options(), 'start']);
    running = true;
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await pgCtl(['-m', mode, '-w', '-t', '60', 'stop']);
    running = false;
  };
  // The free port found may be taken by another process before the server binds it (tests and
  // other sessions start servers too): the first start tries another port then.
  for (let tries = 1; ; tries++) {
    try {
      await start();
      break;
    } catch (error) {
      const log = (() => {
        try {
          return readFileSync(path.join(dir, 'server.log'), 'utf8');
        } catch {
          return '';
        }
      })();
      if (tries >= 3 || !/could not (bind|create listen socket)|already in use/i.test(log))
        throw error;
      port = await freePort();
    }
  }
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    async close() {
      if (running) await stop('immediate').catch(() => undefined);
      process.removeListener('exit', stopOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}
