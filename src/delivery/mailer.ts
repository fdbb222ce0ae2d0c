import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { Config } from '../config';

export interface MailMessage {
  from: string;
  to: string;
  /** An object, never "Name <address>" text: a name may hold anything, commas and angle brackets included. */
  replyTo?: { name: string; address: string };
  subject: string;
  text: string;
  /** Stable per letter, so that a resent letter is recognisably the same message. */
  messageId?: string;
  headers?: Record<string, string>;
}

export type SendOutcome =
  | { outcome: 'delivered'; receipt?: string }
  | { outcome: 'retry'; error: string }
  | { outcome: 'failed'; error: string };

/**
 * Outgoing mail. With SMTP_URL: a pooled SMTP transport. Without it, every message is written to
 * a file under DATA_DIR/mail and nothing leaves the machine: nothing reaches a real office by
 * accident.
 */
export class Mailer {
  private readonly transport: Transporter;
  readonly kind: 'smtp' | 'files';

  constructor(private readonly options: { smtpUrl: string | undefined; mailDir: string }) {
    if (options.smtpUrl) {
      this.kind = 'smtp';
      this.transport = nodemailer.createTransport({
        url: options.smtpUrl,
        pool: true,
        maxConnections: 5,
        maxMessages: 500,
      } as SMTPTransport.Options);
    } else {
      this.kind = 'files';
      this.transport = nodemailer.createTransport({
        streamTransport: true,
        buffer: true,
        newline: 'unix',
      });
      mkdirSync(options.mailDir, { recursive: true });
    }
  }

  static fromConfig(config: Config): Mailer {
    return new Mailer({ smtpUrl: config.smtpUrl, mailDir: path.join(config.dataDir, 'mail') });
  }

  /** Sends one message; says whether a retry may help. Errors name no recipient or content. */
  async send(message: MailMessage): Promise<SendOutcome> {
    try {
      const info = (await this.transport.sendMail({
        ...message,
        disableFileAccess: true,
        disableUrlAccess: true,
      })) as {
        messageId: string;
        message?: Buffer;
      };
      if (this.kind === 'files' && info.message) {
        writeFileSync(
          path.join(
            this.options.mailDir,
            `${Date.now()}-${info.messageId.replace(/[^\w.-]/g, '_')}.eml`,
          ),
          info.message,
        );
      }
      return { outcome: 'delivered', receipt: info.messageId };
    } catch (error) {
      return classifyMailError(error);
    }
  }

  close(): void {
    this.transport.close();
  }
}

/**
 * Whether a failed send may pass later. A relay's 4xx reply, wherever it comes (greeting, MAIL
 * FROM, RCPT TO, DATA: greylisting answers 451 at RCPT TO), a dropped connection and a timeout
 * are temporary: retried. A 5xx reply is permanent (no such mailbox, rejected), and so is an
 * address nodemailer refuses before any server is asked (EENVELOPE without a reply code).
 * nodemailer gives a refusal at RCPT TO or DATA the code EENVELOPE too, with the server's reply
 * code: the code decides, not the kind. A failed sign-in to the relay (EAUTH) is the
 * deployment's to fix, not the letter's: retried, so the letters wait for the fix.
 */
export function classifyMailError(error: unknown): SendOutcome {
  const e = error as { responseCode?: number; code?: string; message?: string };
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const reason = code ? `SMTP ${code}` : (e.code ?? 'send failed');
  if (code !== undefined && code >= 500 && code < 600 && e.code !== 'EAUTH')
    return { outcome: 'failed', error: reason };
  if (code === undefined && e.code === 'EENVELOPE') return { outcome: 'failed', error: reason };
  return { outcome: 'retry', error: reason };
}

/**
 * A Message-ID under the sending domain, the domain of `from` (MAIL_FROM: `Name <letters@coalition.example>`
 * gives `<key@coalition.example>`), as receiving systems expect of a sender; `localhost` when it
 * has none. `key` is an opaque token of the caller's ([\w.-] only).
 */
export function messageIdFor(key: string, from: string): string {
  const address = /<([^<>]*)>\s*$/.exec(from)?.[1] ?? from;
  const domain = address
    .slice(address.lastIndexOf('@') + 1)
    .trim()
    .toLowerCase();
  const safe =
    address.includes('@') && /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/.test(domain)
      ? domain
      : 'localhost';
  return `<${key.replace(/[^\w.-]/g, '')}@${safe}>`;
}
