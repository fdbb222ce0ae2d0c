import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * The one way the platform calls a partner's server (a webhook receiver, Action Network): never to
 * a private, loopback, link-local or otherwise internal address unless WEBHOOK_ALLOW_PRIVATE is on
 * (tests, local development). The host is resolved here and every address it resolves to is
 * checked; the connection then goes to the address checked, not to a second look-up, so a name
 * that resolves to a public address once and to 127.0.0.1 the next time (DNS rebinding) cannot
 * slip through. Redirects are not followed. The whole exchange (look-up, connection, answer) has
 * one deadline.
 */

/** The deadline of one call: a receiver that hangs is given up on after it, and tried again later. */
export const OUTBOUND_TIMEOUT_MS = 5000;
/** As much of an answer as is read (an error message for the console, Action Network's JSON). */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface OutboundResponse {
  status: number;
  body: string;
}

/** The call was not made: the address is not one the platform sends to, or the URL is not one it calls. */
export class OutboundRefusedError extends Error {}

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  blocked.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  blocked.addSubnet(network, prefix, 'ipv6');

/** Whether an address is one the platform never sends to (unless allowed): private, loopback, link-local, reserved. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  // An IPv4 address written as IPv6 (::ffff:10.0.0.1, or its hexadecimal form) is checked as IPv4.
  const mapped = /^::ffff:(?:0+:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? hexMapped(address);
  if (mapped) return blocked.check(mapped, 'ipv4');
  return blocked.check(address, 'ipv6');
}

function hexMapped(address: string): string | undefined {
  const match = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!match) return undefined;
  const high = parseInt(match[1]!, 16);
  const low = parseInt(match[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** A receiver URL as the platform accepts it: https (http only when private addresses are allowed), no credentials in it. */
export function checkReceiverUrl(raw: string, allowPrivate: boolean): string | null {
  if (!URL.canParse(raw)) return 'must be a full URL, like https://crm.example.org/hooks/petition';
  const url = new URL(raw);
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:'))
    return 'must start with https://';
  if (url.username || url.password)
    return 'must not hold a user name or password (each delivery is signed instead)';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (
    !allowPrivate &&
    (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) && isInternalAddress(host)))
  ) {
    return 'must be a public address, not a private or local one';
  }
  return null;
}

/** Resolves the host and checks every address; returns the one to connect to. */
async function resolvePublic(
  host: string,
  allowPrivate: boolean,
  signal: AbortSignal,
): Promise<{ address: string; family: 4 | 6 }> {
  const bare = host.replace(/^\[|\]$/g, '');
  const literal = isIP(bare);
  const addresses = literal
    ? [{ address: bare, family: literal as 4 | 6 }]
    : await Promise.race([
        lookup(bare, { all: true, verbatim: true }) as Promise<
          Array<{ address: string; family: 4 | 6 }>
        >,
        new Promise<never>((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }),
        ),
      ]);
  if (addresses.length === 0) throw new OutboundRefusedError(`${bare} has no address`);
  if (!allowPrivate) {
    const internal = addresses.find((entry) => isInternalAddress(entry.address));
    if (internal)
      throw new OutboundRefusedError(
        `${bare} resolves to a private or local address (${internal.address}); the platform does not send there`,
      );
  }
  return addresses[0]!;
}

/**
 * Sends one request and reads up to 64 KB of the answer. Throws OutboundRefusedError for an address
 * it will not call, a TimeoutError (name) past the deadline, and the network's errors otherwise.
 */
export async function sendOutbound(
  target: string,
  request: {
    method: 'POST' | 'DELETE';
    headers: Record<string, string>;
    body?: string;
    allowPrivate: boolean;
    timeoutMs?: number;
  },
): Promise<OutboundResponse> {
  const url = new URL(target);
  if (url.protocol !== 'https:' && !(request.allowPrivate && url.protocol === 'http:'))
    throw new OutboundRefusedError('only https:// addresses are called');
  const signal = AbortSignal.timeout(request.timeoutMs ?? OUTBOUND_TIMEOUT_MS);
  const pinned = await resolvePublic(url.hostname, request.allowPrivate, signal);
  // Every connection of this request goes to the address checked above.
  const pinnedLookup: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all)
      (
        callback as unknown as (
          error: null,
          addresses: Array<{ address: string; family: number }>,
        ) => void
      )(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8');
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<OutboundResponse>((resolve, reject) => {
    const outgoing = client.request(
      url,
      {
        method: request.method,
        headers: { ...request.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        lookup: pinnedLookup,
        agent: false,
        signal,
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        let size = 0;
        incoming.on('data', (chunk: Buffer) => {
          if (size >= MAX_ANSWER_BYTES) return;
          chunks.push(chunk);
          size += chunk.length;
          if (size >= MAX_ANSWER_BYTES) incoming.destroy();
        });
        const done = () =>
          resolve({
            status: incoming.statusCode ?? 0,
            body: Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8'),
          });
        incoming.on('end', done);
        incoming.on('close', done);
        incoming.on('error', (error) => (size >= MAX_ANSWER_BYTES ? done() : reject(error)));
      },
    );
    outgoing.on('error', (error) =>
      reject(
        signal.aborted
          ? Object.assign(
              new Error(`no answer within ${(request.timeoutMs ?? OUTBOUND_TIMEOUT_MS) / 1000} s`),
              { name: 'TimeoutError' },
            )
          : error,
      ),
    );
    outgoing.end(body);
  });
}

/** A short reason for the console and the attempt log, naming no secret. */
export function describeFailure(error: unknown): string {
  if (error instanceof OutboundRefusedError) return error.message;
  const e = error as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    return e.message && e.name === 'TimeoutError' ? e.message : 'no answer in time';
  if (e.code) return `could not connect (${e.code})`;
  return (e.message ?? 'the request failed').slice(0, 300);
}
