import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * In-process HTTP servers that stand for partners' systems: a webhook receiver that checks each
 * delivery's Standard Webhooks signature itself (written here from the scheme, not with the
 * platform's code), and a stand-in for Action Network's record signature helper.
 */

export interface ReceivedDelivery {
  id: string;
  timestamp: number;
  signature: string;
  /** The signature checked against the secret the test gave, as a receiver would. */
  verified: boolean;
  body: string;
  items: Array<Record<string, unknown>>;
  receivedAt: number;
}

export type Behaviour = 'ok' | 'hang' | 'fail';

export interface WebhookReceiver {
  url: string;
  deliveries: ReceivedDelivery[];
  /** Every request, answered or not (a hanging one too). */
  requests: number;
  secret: string | undefined;
  /** The secret to verify with (the platform shows it once, after the receiver exists). */
  setSecret(secret: string): void;
  /** How the next requests are answered, one behaviour per request, then `then` for the rest. */
  plan(behaviours: Behaviour[], then?: Behaviour): void;
  close(): Promise<void>;
}

/** The scheme's verification, as a receiver writes it: HMAC-SHA256 of `id.timestamp.body` under the secret's bytes. */
export function verifyStandardWebhook(
  secret: string,
  id: string,
  timestamp: string,
  body: string,
  header: string,
): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return header.split(' ').some((entry) => {
    const [version, value] = entry.split(',');
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

export async function startWebhookReceiver(
  options: { secret?: string; behaviour?: Behaviour } = {},
): Promise<WebhookReceiver> {
  let secret = options.secret;
  let planned: Behaviour[] = [];
  let otherwise: Behaviour = options.behaviour ?? 'ok';
  const deliveries: ReceivedDelivery[] = [];
  const hanging = new Set<ServerResponse>();
  const receiver: WebhookReceiver = {
    url: '',
    deliveries,
    requests: 0,
    get secret() {
      return secret;
    },
    setSecret(value) {
      secret = value;
    },
    plan(behaviours, then) {
      planned = [...behaviours];
      if (then) otherwise = then;
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer(async (req, res) => {
    receiver.requests++;
    const behaviour = planned.shift() ?? otherwise;
    const body = await readBody(req);
    if (behaviour === 'hang') {
      hanging.add(res);
      return;
    }
    if (behaviour === 'fail') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('receiver is down for maintenance');
      return;
    }
    const id = String(req.headers['webhook-id'] ?? '');
    const timestamp = String(req.headers['webhook-timestamp'] ?? '');
    const signature = String(req.headers['webhook-signature'] ?? '');
    const verified =
      secret !== undefined && verifyStandardWebhook(secret, id, timestamp, body, signature);
    deliveries.push({
      id,
      timestamp: Number(timestamp),
      signature,
      verified,
      body,
      items: JSON.parse(body) as Array<Record<string, unknown>>,
      receivedAt: Date.now(),
    });
    res.writeHead(verified ? 204 : 401).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/petition`;
  return receiver;
}

export interface RecordedSignature {
  petition: string;
  id: string;
  body: Record<string, unknown>;
}

export interface FakeActionNetwork {
  /** ACTION_NETWORK_URL for the platform. */
  url: string;
  apiKey: string;
  signatures: RecordedSignature[];
  deleted: string[];
  /** Requests refused for a wrong key. */
  unauthorized: number;
  /** Signatures posted (a repeat included). */
  posts: number;
  /** The next `count` requests answer 500. */
  failNext(count: number): void;
  close(): Promise<void>;
}

/**
 * Action Network's record signature helper, as its API documents it: `POST /api/v2/petitions/<id>/signatures`
 * with the `OSDI-API-Token` header and a `person`; a person signs a petition once (a repeat
 * answers with the same signature); the answer is the signature with its `action_network:` identifier
 * and self link. `DELETE` on that link removes it.
 */
export async function startFakeActionNetwork(
  apiKey = 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
): Promise<FakeActionNetwork> {
  const signatures: RecordedSignature[] = [];
  const deleted: string[] = [];
  let failures = 0;
  const fake: FakeActionNetwork = {
    url: '',
    apiKey,
    signatures,
    deleted,
    unauthorized: 0,
    posts: 0,
    failNext(count) {
      failures = count;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    const json = (status: number, value: unknown) =>
      res.writeHead(status, { 'content-type': 'application/hal+json' }).end(JSON.stringify(value));
    if (req.headers['osdi-api-token'] !== apiKey) {
      fake.unauthorized++;
      return json(401, { error: 'API Key invalid or not present' });
    }
    if (failures > 0) {
      failures--;
      return json(500, { error: 'Server error' });
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const post = /^\/api\/v2\/petitions\/([A-Za-z0-9-]+)\/signatures\/?$/.exec(path);
    if (req.method === 'POST' && post) {
      fake.posts++;
      const data = JSON.parse(body) as {
        person?: { email_addresses?: Array<{ address?: string }> };
      };
      const email = data.person?.email_addresses?.[0]?.address;
      if (!email) return json(400, { error: 'You must specify a valid person email' });
      const existing = signatures.find(
        (signature) =>
          signature.petition === post[1] &&
          (signature.body.person as typeof data.person)?.email_addresses?.[0]?.address === email,
      );
      const recorded = existing ?? {
        petition: post[1]!,
        id: randomUUID(),
        body: data,
      };
      if (!existing) signatures.push(recorded);
      return json(200, {
        identifiers: [`action_network:${recorded.id}`],
        created_date: new Date().toISOString(),
        _links: {
          self: {
            href: `${fake.url}/api/v2/petitions/${recorded.petition}/signatures/${recorded.id}`,
          },
        },
      });
    }
    const one = /^\/api\/v2\/petitions\/([A-Za-z0-9-]+)\/signatures\/([A-Za-z0-9-]+)$/.exec(path);
    if (req.method === 'DELETE' && one) {
      const index = signatures.findIndex((signature) => signature.id === one[2]);
      if (index === -1) return json(404, { error: 'not found' });
      deleted.push(signatures[index]!.id);
      signatures.splice(index, 1);
      return json(200, { notice: 'This signature was successfully deleted.' });
    }
    json(404, { error: 'not found' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
