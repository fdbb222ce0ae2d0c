import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { signingApiRateLimit } from '../src/petitions/routes';
import { openPlatform } from '../src/platform';

/**
 * The web role as production runs it, plus one baseline route behind the same middleware as the
 * signing endpoint (security headers, request log, CORS, JSON body parser, the Redis rate limit)
 * that answers at once. Prints its port.
 */
async function main() {
  const config = loadConfig(process.env);
  const platform = await openPlatform(config, createLogger(config.logLevel));
  const app = buildApp(platform, {
    extendApi: (router) =>
      router.post('/bench/bare', signingApiRateLimit(platform), (_req, res) => {
        res.status(202).json({ ok: true });
      }),
  });
  const server = app.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  });
  process.once('SIGTERM', () => {
    server.close();
    server.closeIdleConnections();
    void platform.close().then(() => process.exit(0));
  });
}

void main();
