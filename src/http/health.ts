import { Router } from 'express';
import type { AppContext } from '../context';
import { withTimeout } from '../time-limit';

/** `/healthz`: the process answers. `/readyz`: it can reach its database and Redis. */
export function healthRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [database, redis] = await Promise.all([
      withTimeout(ctx.database.ping(), 2000).then(
        () => 'ok',
        () => 'unreachable',
      ),
      withTimeout(ctx.redis.ping(), 2000).then(
        () => 'ok',
        () => 'unreachable',
      ),
    ]);
    const ready = database === 'ok' && redis === 'ok';
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? 'ready' : 'unavailable', database, redis });
  });
  return router;
}
