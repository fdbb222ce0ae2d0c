import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface CountingSink {
  url: string;
  /** Messages accepted since the last `reset`. */
  readonly received: number;
  /** Bytes of message data accepted since the last `reset`. */
  readonly bytes: number;
  reset(): void;
  close(): Promise<void>;
}

/**
 * A real SMTP server, in-process, that accepts every message and only counts it: the data stream
 * is drained, not parsed, so the sink costs as little as an SMTP server can.
 */
export async function startCountingSink(): Promise<CountingSink> {
  let received = 0;
  let bytes = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
      });
      stream.on('error', callback);
      stream.on('end', () => {
        received++;
        bytes += size;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    get received() {
      return received;
    },
    get bytes() {
      return bytes;
    },
    reset() {
      received = 0;
      bytes = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
