import { createHmac } from 'node:crypto';

/** Keyed hash of an IP address: enough to spot abuse from one address, useless to re-identify. */
export function hashIp(secret: string, ip: string): string {
  return createHmac('sha256', secret).update(`ip:${ip}`).digest('base64url').slice(0, 32);
}
