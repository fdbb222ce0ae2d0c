import { spawn } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/paths';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * One of the platform's commands (`src/<script>`, run from the sources through tsx as its npm
 * script runs the build), with only the environment given, and `stdin` as its standard input.
 */
export function runCommand(
  script: string,
  args: string[],
  env: Record<string, string | undefined>,
  stdin = '',
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(projectRoot, 'src', script), ...args],
      {
        cwd: projectRoot,
        env: { PATH: process.env.PATH, NODE_ENV: 'test', ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
