import { Router } from 'express';
import type { AppContext } from '../context';

const withTimeout = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);

/** `/healthz`: the process answers. `/readyz`: it can reach its database and Redis. */
export function healthRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [database, redis] = await Promise.all([
      withTimeout(ctx.database.ping(), 2000).then(() => 'ok', () => 'unreachable'),
      withTimeout(ctx.redis.ping(), 2000).then(() => 'ok', () => 'unreachable'),
    ]);
    const ready = database === 'ok' && redis === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', database, redis });
  });
  return router;
}
