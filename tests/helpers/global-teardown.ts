import { stopStartedServices } from './global-setup';

/** Stops and removes the throwaway PostgreSQL and Redis the global setup started, if it started any. */
export default async function globalTeardown(): Promise<void> {
  await stopStartedServices();
}
