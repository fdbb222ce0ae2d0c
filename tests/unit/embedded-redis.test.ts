import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/logger';
import { RedisServerMissingError, startEmbeddedRedis } from '../../src/queue/redis-server';

describe('embedded redis-server', () => {
  it('says how to install redis-server, or to set REDIS_URL, when it is missing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'frb-redis-'));
    const attempt = startEmbeddedRedis(dir, createLogger('silent'), {
      binary: 'redis-server-not-installed-here',
    });
    await expect(attempt).rejects.toThrow(RedisServerMissingError);
    await expect(attempt).rejects.toThrow(
      /apt-get install redis-server.*brew install redis.*REDIS_URL/,
    );
  });
});
