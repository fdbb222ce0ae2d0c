import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SmtpSink {
  url: string;
  messages: ParsedMail[];
  /** Makes the next `count` messages fail with this SMTP reply code. */
  failNext(count: number, code: number): void;
  close(): Promise<void>;
}

/**
 * A real SMTP server, in-process, that keeps every message it accepts. `beforeAccept` runs before
 * each message is answered, while its sender waits for the reply: what happens during a send.
 */
export async function startSmtpSink(
  options: { delayMs?: number; beforeAccept?: (mail: ParsedMail) => Promise<void> } = {},
): Promise<SmtpSink> {
  const messages: ParsedMail[] = [];
  let failures: { count: number; code: number } = { count: 0, code: 451 };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then(async (mail) => {
          // A slow server widens the moment between a send and its record, where a kill is most telling.
          if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
          await options.beforeAccept?.(mail);
          if (failures.count > 0) {
            failures.count--;
            const error = new Error('refused for the test') as Error & { responseCode: number };
            error.responseCode = failures.code;
            return callback(error);
          }
          messages.push(mail);
          callback();
        })
        .catch(callback);
    },
  });
  // A client that dies mid-session (the fault tests kill workers) resets its connection: not an error of the sink.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    failNext(count, code) {
      failures = { count, code };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
