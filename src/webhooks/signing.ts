import { createHmac, randomBytes } from 'node:crypto';

/**
 * Webhook signatures in the Standard Webhooks scheme (standardwebhooks.com): each delivery carries
 * `webhook-id` (the same for every retry of one batch, so a receiver can drop a repeat),
 * `webhook-timestamp` (seconds since 1970, of this attempt) and `webhook-signature`:
 * `v1,` then the base64 HMAC-SHA256 of `<id>.<timestamp>.<body>` under the subscription's secret.
 * The secret is `whsec_` then base64 of 24 random bytes; the HMAC key is those bytes.
 */

export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

/** A new batch's `webhook-id`. */
export const newMessageId = (): string => `msg_${randomBytes(16).toString('base64url')}`;

const keyOf = (secret: string): Buffer =>
  Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');

export function webhookSignature(
  secret: string,
  messageId: string,
  timestampSeconds: number,
  body: string,
): string {
  return `v1,${createHmac('sha256', keyOf(secret)).update(`${messageId}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/** The headers of one attempt. */
export function signedHeaders(
  secret: string,
  messageId: string,
  body: string,
  now = Date.now(),
): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': messageId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': webhookSignature(secret, messageId, timestamp, body),
  };
}
