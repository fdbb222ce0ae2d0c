import { createHash } from 'node:crypto';
import type { FieldErrors } from '../kernel/field-errors';
import { checkCwcDocument, describeProblems, LIBRARY_OF_CONGRESS_TOPICS } from './cwc-schema';
import { escapeXml, removeNotInXml } from '../text-safety/characters';

/**
 * Communicating with Congress (CWC): the House's (and some Senate offices') system for constituent messages from
 * advocacy vendors. A message is one XML document POSTed over HTTPS with the vendor's API key as `apikey`.
 *
 * The channel does not decide whether a letter may go to a real office (DESIGN invariant 7): it is built only when
 * CWC is configured, and rehearsals point `url` at CWC's test server or leave CWC off.
 */
export interface CwcSettings {
  /**
   * CWC's message endpoint (`…/v2/message`, production or CWC's test server); `apikey` is added as a
   * query parameter. Rehearsals post to its validation endpoint beside it (`…/v2/validate`).
   */
  url: string;
  apiKey: string;
  deliveryAgent: { name: string; email: string; phone: string; ackEmail: string };
  /** The coalition the message is sent on behalf of; its contact is the delivery agent's. */
  organization: string;
  campaignId: string;
}

export interface CwcConstituent {
  /** Honorific, one of CWC_PREFIXES: CWC requires one, and none is ever guessed (without it the document fails its check). */
  prefix?: string;
  firstName: string;
  lastName: string;
  address1: string;
  city: string;
  /** USPS two-letter code. */
  state: string;
  /** Five digits. */
  zip: string;
  email: string;
}

export interface CwcDocumentInput {
  /** Our idempotency key for the (letter, target); becomes the CWC DeliveryId (see cwcDeliveryId). */
  deliveryId: string;
  date: Date;
  /** CWC office code: `HCA12` for a House office (houseOfficeCode), the office's own code for a Senate office. */
  office: string;
  constituent: CwcConstituent;
  subject: string;
  /** The letter body, plain text; line breaks are kept. */
  message: string;
  /** A Library of Congress policy area (LIBRARY_OF_CONGRESS_TOPICS); DEFAULT_TOPIC when absent. */
  topic?: string;
  /** The campaign's own statement, sent apart from the constituent's words. */
  organizationStatement?: string;
  /** Both left out unless asked for (CWC reads their absence as No): an office replies or subscribes only on request. */
  responseRequested?: boolean;
  newsletterOptIn?: boolean;
}

export type CwcLetter = CwcDocumentInput;

export type CwcSendResult =
  | { outcome: 'delivered'; receipt?: string }
  | { outcome: 'retry'; error: string }
  | { outcome: 'failed'; error: string };

// ---------------------------------------------------------------------------------------------------------------------
// The document we write. What CWC accepts (names, order, formats) is written down in cwc-schema.ts, and every
// document is checked against it before it is sent. Optional elements we have no data for (MiddleName, Suffix,
// Address2, Phone, Bills, ProOrCon, MoreInfo, ...) are left out rather than sent empty.
// ---------------------------------------------------------------------------------------------------------------------

export const CWC_VERSION = '2.0';

export const DEFAULT_TOPIC: (typeof LIBRARY_OF_CONGRESS_TOPICS)[number] =
  'Civil Rights and Liberties, Minority Issues';

/** CWC dates a delivery by the calendar day in Washington. */
const DELIVERY_TIME_ZONE = 'America/New_York';

const DELIVERY_ID = /^[A-Za-z0-9]{32}$/;

type XmlNode = readonly [name: string, content: string | ReadonlyArray<XmlNode | undefined>];

function documentTree(doc: CleanDocument, settings: CwcSettings): XmlNode {
  const agent = settings.deliveryAgent;
  return [
    'CWC',
    [
      ['CWCVersion', CWC_VERSION],
      [
        'Delivery',
        [
          ['DeliveryId', doc.deliveryId ? cwcDeliveryId(doc.deliveryId) : ''],
          ['DeliveryDate', deliveryDate(doc.date)],
          ['DeliveryAgent', singleLine(agent.name)],
          ['DeliveryAgentAckEmailAddress', singleLine(agent.ackEmail)],
          [
            'DeliveryAgentContact',
            [
              ['DeliveryAgentContactName', singleLine(agent.name)],
              ['DeliveryAgentContactEmail', singleLine(agent.email)],
              ['DeliveryAgentContactPhone', singleLine(agent.phone)],
            ],
          ],
          ['Organization', singleLine(settings.organization)],
          [
            'OrganizationContact',
            [
              ['OrganizationContactName', singleLine(agent.name)],
              ['OrganizationContactEmail', singleLine(agent.email)],
              ['OrganizationContactPhone', singleLine(agent.phone)],
            ],
          ],
          ['CampaignId', singleLine(settings.campaignId)],
        ],
      ],
      [
        'Recipient',
        [
          ['MemberOffice', doc.office],
          doc.responseRequested ? ['IsResponseRequested', 'Y'] : undefined,
          doc.newsletterOptIn ? ['NewsletterOptIn', 'Y'] : undefined,
        ],
      ],
      [
        'Constituent',
        [
          doc.constituent.prefix ? ['Prefix', doc.constituent.prefix] : undefined,
          ['FirstName', doc.constituent.firstName],
          ['LastName', doc.constituent.lastName],
          ['Address1', doc.constituent.address1],
          ['City', doc.constituent.city],
          ['StateAbbreviation', doc.constituent.state],
          ['Zip', doc.constituent.zip],
          ['Email', doc.constituent.email],
        ],
      ],
      [
        'Message',
        [
          ['Subject', doc.subject],
          ['LibraryOfCongressTopics', [['LibraryOfCongressTopic', doc.topic]]],
          doc.organizationStatement
            ? ['OrganizationStatement', doc.organizationStatement]
            : undefined,
          ['ConstituentMessage', doc.message],
        ],
      ],
    ],
  ];
}

/**
 * A constituent's first and last name, from the one name they gave: the last word is the last name
 * (CWC needs both; a single word serves as both).
 */
export function splitName(name: string): { firstName: string; lastName: string } {
  const words = name.trim().split(/\s+/);
  const lastName = words.pop() ?? '';
  return { firstName: words.join(' ') || lastName, lastName };
}

/**
 * The CWC DeliveryId for an idempotency key: the same key always gives the same id, so a retried delivery is one
 * CWC knows it has seen. A 32-character alphanumeric key is used as it is, a UUID without its hyphens, and any other
 * key as the first 32 hex digits of its SHA-256.
 */
export function cwcDeliveryId(key: string): string {
  if (DELIVERY_ID.test(key)) return key;
  const unhyphenated = key.replaceAll('-', '');
  if (/^[0-9a-f]{32}$/i.test(unhyphenated)) return unhyphenated;
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

// ---------------------------------------------------------------------------------------------------------------------
// Text cleaning and escaping.
// ---------------------------------------------------------------------------------------------------------------------

const LINE_BREAKS = /[\t\r\n\u2028\u2029]+/g;

/** One line of text: forbidden characters removed, line breaks and tabs become a space, trimmed. */
function singleLine(value: string): string {
  return removeNotInXml(value).replace(LINE_BREAKS, ' ').trim();
}

/** Letter text: forbidden characters removed, every line break (CRLF, CR, LF, U+2028/9) one LF. */
function multiLine(value: string): string {
  return removeNotInXml(value)
    .replace(/\r\n|[\r\u2028\u2029]/g, '\n')
    .trim();
}

function renderNode([name, content]: XmlNode, indent: string): string {
  if (typeof content === 'string') return `${indent}<${name}>${escapeXml(content)}</${name}>`;
  const children = content
    .filter((child): child is XmlNode => child !== undefined)
    .map((child) => renderNode(child, `${indent}  `));
  return [`${indent}<${name}>`, ...children, `${indent}</${name}>`].join('\n');
}

/** The calendar day of `date` in Washington, as YYYYMMDD. */
function deliveryDate(date: Date): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: DELIVERY_TIME_ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(date);
  const part = (type: Intl.DateTimeFormatPartTypes) =>
    parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}${part('month')}${part('day')}`;
}

// ---------------------------------------------------------------------------------------------------------------------
// Checking and building.
// ---------------------------------------------------------------------------------------------------------------------

type CleanDocument = Omit<CwcDocumentInput, 'constituent' | 'topic'> & {
  constituent: CwcConstituent;
  topic: string;
};

/** The input as it will be sent: every field cleaned, codes upper-cased. */
function clean(input: CwcDocumentInput): CleanDocument {
  const c = input.constituent;
  return {
    deliveryId: singleLine(input.deliveryId),
    date: input.date,
    office: singleLine(input.office).toUpperCase(),
    constituent: {
      prefix: c.prefix === undefined ? undefined : singleLine(c.prefix),
      firstName: singleLine(c.firstName),
      lastName: singleLine(c.lastName),
      address1: singleLine(c.address1),
      city: singleLine(c.city),
      state: singleLine(c.state).toUpperCase(),
      zip: singleLine(c.zip),
      email: singleLine(c.email),
    },
    subject: singleLine(input.subject),
    message: multiLine(input.message),
    topic: input.topic === undefined ? DEFAULT_TOPIC : singleLine(input.topic),
    organizationStatement:
      input.organizationStatement === undefined
        ? undefined
        : multiLine(input.organizationStatement),
    responseRequested: input.responseRequested,
    newsletterOptIn: input.newsletterOptIn,
  };
}

/** Where each element of the document comes from in the input, to name a problem by the field to fix. */
const FIELD_OF_PATH: Readonly<Record<string, string>> = {
  'CWC/Delivery/DeliveryId': 'deliveryId',
  'CWC/Delivery/DeliveryDate': 'date',
  'CWC/Recipient/MemberOffice': 'office',
  'CWC/Constituent/Prefix': 'constituent.prefix',
  'CWC/Constituent/FirstName': 'constituent.firstName',
  'CWC/Constituent/LastName': 'constituent.lastName',
  'CWC/Constituent/Address1': 'constituent.address1',
  'CWC/Constituent/City': 'constituent.city',
  'CWC/Constituent/StateAbbreviation': 'constituent.state',
  'CWC/Constituent/Zip': 'constituent.zip',
  'CWC/Constituent/Email': 'constituent.email',
  'CWC/Message/Subject': 'subject',
  'CWC/Message/LibraryOfCongressTopics/LibraryOfCongressTopic': 'topic',
  'CWC/Message/OrganizationStatement': 'organizationStatement',
  'CWC/Message/ConstituentMessage': 'message',
  'CWC/Message': 'message',
};

/**
 * Field errors for a letter, keyed by input field (`office`, `constituent.zip`, ...; a problem with
 * the settings by its element path): empty when its document passes the CWC 2.0 check. Messages
 * never repeat the value.
 */
export function validateCwcDocument(input: CwcDocumentInput, settings: CwcSettings): FieldErrors {
  const errors: FieldErrors = {};
  if (!(input.date instanceof Date) || Number.isNaN(input.date.getTime()))
    return { date: 'Must be a valid date.' };
  for (const { path, problem } of checkCwcDocument(buildCwcDocument(input, settings))) {
    const field = FIELD_OF_PATH[path] ?? path;
    errors[field] ??= `${path.split('/').pop() || 'The document'} ${problem}.`;
  }
  return errors;
}

/** The CWC XML document for a letter, cleaned and escaped; `checkCwcDocument` says whether CWC would take it. */
export function buildCwcDocument(input: CwcDocumentInput, settings: CwcSettings): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${renderNode(documentTree(clean(input), settings), '')}\n`;
}

/** CWC's validation endpoint beside its message endpoint: `…/v2/message` → `…/v2/validate`. */
export function cwcValidationUrl(messageUrl: string): string {
  const url = new URL(messageUrl);
  if (!/\/message\/?$/.test(url.pathname))
    throw new TypeError(
      'cwcValidationUrl: the CWC url must be its message endpoint, ending in /message',
    );
  url.pathname = url.pathname.replace(/\/message\/?$/, '/validate');
  return url.toString();
}

// ---------------------------------------------------------------------------------------------------------------------
// Sending.
// ---------------------------------------------------------------------------------------------------------------------

export const DEFAULT_CWC_TIMEOUT_MS = 15_000;

/** HTTP answers worth asking again: the server was busy or briefly unable. Every other non-2xx is permanent. */
const RETRYABLE_STATUS = new Set([408, 425, 429]);

/** How much of a refusal's body is read for its `<Error>` lines, and how much of them is kept. */
const ERROR_BODY_LIMIT = 16 * 1024;
const ERROR_LINES_KEPT = 5;
const ERROR_LINE_LENGTH = 300;

/**
 * Sends letters to CWC, after checking each document against the CWC 2.0 schema (a document that
 * fails is never sent). Never logs; errors are short descriptions (status, CWC's `<Error>` lines
 * with the constituent's own details taken out) that never carry the API key or the constituent's
 * data, so callers may record them as they are.
 */
export class CwcChannel {
  readonly name = 'cwc';
  private readonly endpoint: URL;
  private readonly validationEndpoint: URL;
  private readonly timeoutMs: number;

  constructor(
    private readonly settings: CwcSettings,
    options: { timeoutMs?: number } = {},
  ) {
    if (
      !URL.canParse(settings.url) ||
      !['http:', 'https:'].includes(new URL(settings.url).protocol)
    ) {
      throw new TypeError('CwcChannel: url must be an http(s) URL');
    }
    const agent = settings.deliveryAgent;
    const missing = Object.entries({
      apiKey: settings.apiKey,
      organization: settings.organization,
      campaignId: settings.campaignId,
      'deliveryAgent.name': agent.name,
      'deliveryAgent.email': agent.email,
      'deliveryAgent.phone': agent.phone,
      'deliveryAgent.ackEmail': agent.ackEmail,
    }).filter(([, value]) => singleLine(value) === '');
    if (missing.length > 0)
      throw new TypeError(
        `CwcChannel: required settings missing: ${missing.map(([key]) => key).join(', ')}`,
      );
    const withKey = (url: string) => {
      const endpoint = new URL(url);
      endpoint.searchParams.set('apikey', settings.apiKey);
      return endpoint;
    };
    this.endpoint = withKey(settings.url);
    // Never the message endpoint: a rehearsal must not be delivered. (The configuration refuses such a url too.)
    this.validationEndpoint = withKey(cwcValidationUrl(settings.url));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CWC_TIMEOUT_MS;
  }

  /**
   * Sends one letter: to CWC's message endpoint, or with `validateOnly` (a rehearsal) to its
   * validation endpoint, where CWC checks the document and delivers nothing.
   */
  async send(letter: CwcLetter, options: { validateOnly?: boolean } = {}): Promise<CwcSendResult> {
    const document = buildCwcDocument(letter, this.settings);
    const problems = checkCwcDocument(document);
    if (problems.length > 0)
      return {
        outcome: 'failed',
        error: `not sent: the CWC document fails its check: ${describeProblems(problems)}`,
      };

    let response: Response;
    try {
      response = await fetch(options.validateOnly ? this.validationEndpoint : this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/xml', accept: 'application/xml, text/xml, */*' },
        body: document,
        // A redirect would carry the API key to wherever it points: treat it as an answer instead.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      return { outcome: 'retry', error: this.describe(error) };
    }

    const status = response.status;
    if (status >= 200 && status < 300) {
      await response.body?.cancel().catch(() => undefined);
      return { outcome: 'delivered', receipt: cwcDeliveryId(singleLine(letter.deliveryId)) };
    }
    if (status >= 500 || RETRYABLE_STATUS.has(status)) {
      await response.body?.cancel().catch(() => undefined);
      return { outcome: 'retry', error: `CWC answered HTTP ${status}` };
    }
    if (status >= 300 && status < 400) {
      await response.body?.cancel().catch(() => undefined);
      return {
        outcome: 'failed',
        error: `CWC answered with a redirect (HTTP ${status}); check the CWC url`,
      };
    }
    const lines = await errorLines(response, letter, this.settings.apiKey);
    // CWC knows this DeliveryId already: an earlier attempt reached it and its answer was lost (a
    // timeout, a dropped connection). The letter is there; failing it now would invite a second copy.
    if (status < 500 && lines.some((line) => /duplicate/i.test(line))) {
      return { outcome: 'delivered', receipt: cwcDeliveryId(singleLine(letter.deliveryId)) };
    }
    const said = lines.length > 0 ? `: ${lines.join('; ')}` : '';
    if (status === 401 || status === 403)
      return { outcome: 'failed', error: `CWC refused the API key (HTTP ${status})${said}` };
    return { outcome: 'failed', error: `CWC rejected the document (HTTP ${status})${said}` };
  }

  private describe(error: unknown): string {
    // By name, not instanceof: fetch's DOMException may come from another realm.
    const name =
      typeof error === 'object' && error !== null && 'name' in error ? error.name : undefined;
    if (name === 'TimeoutError') return `CWC did not answer within ${this.timeoutMs} ms`;
    const cause =
      typeof error === 'object' && error !== null && 'cause' in error ? error.cause : undefined;
    const code =
      typeof cause === 'object' && cause !== null && 'code' in cause ? cause.code : undefined;
    // Only an error code such as ECONNREFUSED: messages may name the URL, and with it the API key.
    return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code)
      ? `CWC could not be reached (${code})`
      : 'CWC could not be reached';
  }
}

const XML_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

/**
 * The `<Error>` lines of a refusal, for staff to read: at most a few, each shortened, with
 * everything the letter told CWC about its writer (and the API key) taken out, since CWC may quote
 * what it received.
 */
async function errorLines(
  response: Response,
  letter: CwcLetter,
  apiKey: string,
): Promise<string[]> {
  let body = '';
  try {
    const reader = response.body?.getReader();
    const decoder = new TextDecoder();
    while (reader && body.length < ERROR_BODY_LIMIT) {
      const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
      if (done) break;
      body += decoder.decode(value, { stream: true });
    }
    await reader?.cancel().catch(() => undefined);
  } catch {
    return [];
  }
  const c = letter.constituent;
  const known = [
    apiKey,
    encodeURIComponent(apiKey),
    c.firstName,
    c.lastName,
    c.address1,
    c.city,
    c.zip,
    c.email,
    c.prefix ?? '',
  ]
    .map((value) => singleLine(value))
    .filter((value) => value.length >= 2)
    .sort((a, b) => b.length - a.length);
  const redact = (line: string) =>
    known
      .reduce((text, value) => text.split(value).join('…'), line)
      .replace(/[^\s@<>]+@[^\s@<>]+/g, '…')
      .replace(/\b\d{5}(-\d{4})?\b/g, '…');
  return [...body.slice(0, ERROR_BODY_LIMIT).matchAll(/<Error>([\s\S]*?)<\/Error>/g)]
    .map((match) =>
      singleLine(
        (match[1] ?? '').replace(
          /&(amp|lt|gt|quot|apos);/g,
          (_, name: string) => XML_ENTITIES[name] ?? '',
        ),
      ),
    )
    .filter(Boolean)
    .slice(0, ERROR_LINES_KEPT)
    .map((line) => {
      const redacted = redact(line);
      return [...redacted].length > ERROR_LINE_LENGTH
        ? `${[...redacted].slice(0, ERROR_LINE_LENGTH).join('')}…`
        : redacted;
    });
}
