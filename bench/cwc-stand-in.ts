import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { checkCwcDocument, describeProblems } from '../src/delivery/cwc-schema';

/**
 * A local stand-in for Communicating with Congress, speaking its protocol: documents POSTed as XML
 * to `/v2/message` (delivered) or `/v2/validate` (checked only), the API key as `?apikey=`. It
 * answers 401 to a wrong key, 400 with `<Error>` lines to a document that fails the CWC 2.0 check
 * (the same check the platform makes before sending), and 200 otherwise. For the tests and
 * `bench:deliver`; never a substitute for CWC's own test server before going live.
 */

export interface CwcRequest {
  endpoint: 'message' | 'validate' | 'other';
  apiKey: string | null;
  /** The document, when kept (`keepDocuments`). */
  body: string;
  office: string | undefined;
}

/** An answer instead of the usual one (a refusal, a busy server): status and `<Error>` lines, or `hang` to never answer. */
export type CwcAnswer = { status: number; errors?: string[] } | 'hang';

export interface CwcStandIn {
  /** The message endpoint, `…/v2/message`: what CWC_URL is set to. */
  messageUrl: string;
  requests: CwcRequest[];
  /** Requests answered 200 by endpoint, kept or not. */
  accepted: { message: number; validate: number };
  /** Answers the next requests differently: called with each, returns an answer or undefined for the usual one. */
  answer: ((request: CwcRequest) => CwcAnswer | undefined) | undefined;
  close(): Promise<void>;
}

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function startCwcStandIn(options: {
  apiKey: string;
  path?: string;
  keepDocuments?: boolean;
}): Promise<CwcStandIn> {
  const base = (options.path ?? '').replace(/\/+$/, '');
  const sockets = new Set<Socket>();
  const standIn: CwcStandIn = {
    messageUrl: '',
    requests: [],
    accepted: { message: 0, validate: 0 },
    answer: undefined,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const reply = (res: ServerResponse, status: number, errors: string[] = []) => {
    const body =
      errors.length > 0
        ? `<Errors>${errors.map((error) => `<Error>${escape(error)}</Error>`).join('')}</Errors>`
        : '<Response><Status>Success</Status></Response>';
    res.writeHead(status, { 'content-type': 'application/xml' }).end(body);
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const body = Buffer.concat(chunks).toString('utf8');
      const endpoint =
        url.pathname === `${base}/v2/message`
          ? 'message'
          : url.pathname === `${base}/v2/validate`
            ? 'validate'
            : 'other';
      const request: CwcRequest = {
        endpoint,
        apiKey: url.searchParams.get('apikey'),
        body: options.keepDocuments === false ? '' : body,
        office: /<MemberOffice>([^<]*)<\/MemberOffice>/.exec(body)?.[1],
      };
      standIn.requests.push(request);
      const special = standIn.answer?.(request);
      if (special === 'hang') return;
      if (special) return reply(res, special.status, special.errors);
      if (req.method !== 'POST' || endpoint === 'other')
        return reply(res, 404, ['No such endpoint']);
      if (request.apiKey !== options.apiKey) return reply(res, 401, ['Invalid API key']);
      const problems = checkCwcDocument(body);
      if (problems.length > 0) return reply(res, 400, describeProblems(problems).split('; '));
      standIn.accepted[endpoint]++;
      reply(res, 200);
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  standIn.messageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}${base}/v2/message`;
  return standIn;
}
