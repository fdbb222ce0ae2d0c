import { configFromProcess } from '../config';
import { commandArgs, runCli } from '../cli';
import { openDatabase } from './client';

/** `npm run db:migrate`: applies pending migrations to the configured database and exits. */
runCli('db:migrate', async (logger) => {
  commandArgs({}, 'Usage: npm run db:migrate');
  const config = configFromProcess();
  const database = await openDatabase(config);
  try {
    await database.migrate();
    logger.info({ driver: database.driver }, 'migrations applied');
  } finally {
    await database.close();
  }
});
