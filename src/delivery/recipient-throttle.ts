import type { AppContext } from '../context';

/**
 * A per-recipient throttle shared by every worker through Redis: each letter to an address takes
 * the next free slot, `limit` slots a minute, and waits for its minute once (a backlog of letters
 * to one office is spread over the minutes ahead, not woken every minute). One call reserves a
 * slot per key given, in order (a key given twice takes two slots), and returns the slots.
 */
const RESERVE_SLOTS = `
local first = tonumber(ARGV[1]) * tonumber(ARGV[2])
local slots = {}
for i, key in ipairs(KEYS) do
  local slot = tonumber(redis.call('GET', key) or '0')
  if slot < first then slot = first end
  redis.call('SET', key, slot + 1, 'EX', 86400 * 7)
  slots[i] = slot
end
return slots`;

/**
 * The minute each letter may go in, per recipient address, in one round trip for all of them.
 * Fails open when Redis does not answer (the queue itself needs Redis anyway).
 */
export async function reserveMinutes(
  ctx: Pick<AppContext, 'redis' | 'config'>,
  addresses: string[],
  limit: number,
): Promise<number[]> {
  const now = Math.floor(Date.now() / 60_000);
  try {
    const keys = addresses.map(
      (address) => `${ctx.config.redisKeyPrefix}:throttle:${address.toLowerCase()}`,
    );
    const slots = (await ctx.redis.eval(
      RESERVE_SLOTS,
      keys.length,
      ...keys,
      String(now),
      String(limit),
    )) as number[];
    return slots.map((slot) => Math.floor(Number(slot) / limit));
  } catch {
    return addresses.map(() => now);
  }
}
