import { createInterface } from 'node:readline';
import { UsageError, commandArgs, runCli } from '../cli';
import { configFromProcess } from '../config';
import { openDatabase } from '../db/client';
import {
  AccountError,
  createAccount,
  staffEmail,
  staffName,
  staffPassword,
  staffRole,
} from './accounts';

const USAGE =
  'Usage: npm run staff:create -- --email <address> --role admin|organizer|viewer [--name "<name>"] (password from the terminal prompt or standard input)';

/**
 * `npm run staff:create -- --email … --role admin`: creates a staff account. On a terminal it asks
 * for the password twice without echoing it; otherwise it reads the first line of standard input,
 * so scripts can pipe it in. In embedded mode stop the platform first: the embedded database
 * belongs to one process.
 */
runCli('staff:create', async () => {
  const values = commandArgs(
    { email: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' } },
    USAGE,
  );
  const email = staffEmail.safeParse(values.email ?? '');
  if (!values.email) throw new UsageError(`--email is required. ${USAGE}`);
  if (!email.success) throw new UsageError(`--email: ${email.error.issues[0]!.message}`);
  const role = staffRole.safeParse(values.role);
  if (!role.success) throw new UsageError(`--role: ${role.error.issues[0]!.message}`);
  const name = staffName.safeParse(values.name ?? '');
  if (!name.success) throw new UsageError(`--name: ${name.error.issues[0]!.message}`);

  const password = await readPassword();
  const checked = staffPassword.safeParse(password);
  if (!checked.success) throw new UsageError(`password: ${checked.error.issues[0]!.message}`);

  const database = await openDatabase(configFromProcess());
  try {
    await database.migrate();
    const account = await createAccount(
      database.db,
      { email: email.data, name: name.data, role: role.data, password: checked.data },
      'command line',
    );
    process.stdout.write(
      `Created ${account.role} account ${account.email}. Sign in at /staff/login.\n`,
    );
  } catch (error) {
    if (error instanceof AccountError) throw new UsageError(error.message);
    throw error;
  } finally {
    await database.close();
  }
});

async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const lines = createInterface({ input: process.stdin });
    for await (const line of lines) return line;
    throw new UsageError(`no password on standard input. ${USAGE}`);
  }
  const first = await askHidden('Password (at least 12 characters): ');
  const second = await askHidden('Same password again: ');
  if (first !== second) throw new UsageError('the two passwords differ');
  return first;
}

/** Asks on the terminal with echo off; Ctrl-C ends the command. */
function askHidden(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    process.stdout.write(prompt);
    const stdin = process.stdin;
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let value = '';
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stdout.write('\n');
          return resolve(value);
        }
        if (char === '\u0003') {
          process.stdout.write('\n');
          process.exit(130);
        }
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on('data', onData);
  });
}
