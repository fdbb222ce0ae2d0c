import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import type { Config } from '../../src/config';
import { projectRoot } from '../../src/paths';
import { formatKeyRing } from '../../src/db/field-encryption';

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves once the process has started its workers and run their catch-up (its "platform started" line). */
  started: Promise<void>;
  /** Everything the process has logged so far (JSON lines). */
  output(): string;
  /** SIGKILL: the process dies mid-whatever, as in a crash or an OOM kill. */
  kill(): Promise<void>;
  /** SIGTERM: the graceful stop production sends. */
  stop(): Promise<void>;
}

/** ENCRYPTION_KEYS and LOOKUP_HASH_KEY as the environment gives them, for the keys in `config`. */
export function encryptionEnv(config: Pick<Config, 'encryption'>): {
  ENCRYPTION_KEYS: string;
  LOOKUP_HASH_KEY: string;
} {
  return {
    ENCRYPTION_KEYS: formatKeyRing(config.encryption.keys),
    LOOKUP_HASH_KEY: config.encryption.lookupKey.toString('base64'),
  };
}

/**
 * A worker process, as production runs it (`node dist/src/main.js worker`), here from the sources
 * through tsx, on the same database, Redis, key prefix, secret and encryption keys as a test
 * platform's `config`.
 */
export function startWorkerProcess(
  config: Config,
  dataDir: string,
  env: Record<string, string> = {},
): WorkerProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(projectRoot, 'src', 'main.ts'), 'worker'],
    {
      cwd: projectRoot,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        DATA_DIR: dataDir,
        DATABASE_URL: config.databaseUrl,
        REDIS_URL: config.redisUrl,
        REDIS_KEY_PREFIX: config.redisKeyPrefix,
        APP_SECRET: config.secret,
        // The same keys as the test platform, whatever DATA_DIR the process is given: a process
        // that shares the database must open what the platform sealed, and find addresses by the
        // same keyed hashes (otherwise it would make keys of its own in DATA_DIR/keys.json).
        ...encryptionEnv(config),
        REP_DATA_DIR: 'none',
        REP_DATA_REFRESH: 'off',
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let logged = '';
  const started = new Promise<void>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      logged += chunk.toString();
      output += chunk.toString();
      if (output.includes('"platform started"')) resolve();
      // Keep only the tail; the line searched for is short.
      output = output.slice(-4096);
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`the worker process exited before it started (${code ?? signal})`)),
    );
  });
  started.catch(() => undefined);
  const exited = once(child, 'exit');
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  return {
    child,
    started,
    output: () => logged,
    kill: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
  };
}
