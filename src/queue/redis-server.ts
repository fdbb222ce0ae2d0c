import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { isProcessAlive } from '../process-lock';

export class RedisServerMissingError extends Error {
  constructor() {
    super(
      'redis-server is not installed. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; ' +
        'macOS: `brew install redis`) or set REDIS_URL to a running Redis.',
    );
  }
}

export interface EmbeddedRedis {
  socketPath: string;
  stop(): Promise<void>;
}

/** Unix socket paths are limited to about 107 bytes; deep DATA_DIRs fall back to the temp dir. */
function socketPathFor(dir: string): string {
  const preferred = path.join(dir, 'redis.sock');
  if (Buffer.byteLength(preferred) < 100) return preferred;
  const digest = createHash('sha256').update(dir).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `frb-redis-${digest}.sock`);
}

/**
 * Starts a private redis-server for embedded mode: a unix socket only this user can open, no TCP
 * port, append-only file on, data under `dir`. Stopped (with a final AOF flush) by `stop()` or,
 * as a last resort, when this process exits.
 */
export async function startEmbeddedRedis(
  dir: string,
  logger: Logger,
  options: { binary?: string; onUnexpectedExit?: (code: number | null) => void } = {},
): Promise<EmbeddedRedis> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const socketPath = socketPathFor(dir);
  const pidFile = path.join(dir, 'redis.pid');
  await stopLeftover(pidFile);
  if (existsSync(socketPath)) rmSync(socketPath);

  const child = spawn(
    options.binary ?? 'redis-server',
    [
      '--port',
      '0',
      '--unixsocket',
      socketPath,
      '--unixsocketperm',
      '700',
      '--dir',
      dir,
      '--pidfile',
      pidFile,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--daemonize',
      'no',
      '--logfile',
      '',
      '--loglevel',
      'warning',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new RedisServerMissingError() : error),
    ),
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });

  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  let stopping = false;

  await Promise.race([
    waitForSocket(socketPath, child),
    spawnError,
    exited.then((code) => {
      throw new Error(
        `redis-server exited with code ${code} before it was ready: ${stderr.trim()}`,
      );
    }),
  ]);
  logger.info({ dir }, 'embedded redis-server started');
  void exited.then((code) => {
    if (stopping) return;
    logger.fatal({ code, stderr: stderr.trim() }, 'embedded redis-server exited unexpectedly');
    options.onUnexpectedExit?.(code);
  });

  return {
    socketPath,
    async stop() {
      stopping = true;
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
      logger.info('embedded redis-server stopped');
    },
  };
}

async function waitForSocket(socketPath: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 200 && child.exitCode === null; attempt++) {
    if (existsSync(socketPath)) {
      const probe = new Redis({
        path: socketPath,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      try {
        await probe.connect();
        // Loading a large AOF answers LOADING until done.
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        // not ready yet
      } finally {
        probe.disconnect();
      }
    }
    await sleep(50);
  }
  if (child.exitCode === null) throw new Error('redis-server did not become ready within 10 s');
}

/** A redis-server left running by a crashed earlier start holds our files: stop it first. */
async function stopLeftover(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = `/proc/${pid}/cmdline`;
  const isRedis = existsSync(cmdline)
    ? readFileSync(cmdline, 'utf8').includes('redis-server')
    : isProcessAlive(pid);
  if (!isRedis) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && isProcessAlive(pid); i++) await sleep(50);
}
