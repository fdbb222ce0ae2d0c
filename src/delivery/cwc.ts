import { createHash } from 'node:crypto';
import type { FieldErrors } from '../petitions/signature-input';
import { isStateCode } from '../representatives/us-states';

/**
 * Communicating with Congress (CWC): the House's (and some Senate offices') system for constituent messages from
 * advocacy vendors. A message is one XML document POSTed over HTTPS with the vendor's API key as `apikey`.
 *
 * The channel does not decide whether a letter may go to a real office (DESIGN invariant 7): it is built only when
 * CWC is configured, and rehearsals point `url` at CWC's test server or leave CWC off.
 */
export interface CwcSettings {
  /** The CWC endpoint (production or CWC's test server); `apikey` is added as a query parameter. */
  url: string;
  apiKey: string;
  deliveryAgent: { name: string; email: string; phone: string; ackEmail: string };
  /** The coalition the message is sent on behalf of; its contact is the delivery agent's. */
  organization: string;
  campaignId: string;
}

export interface CwcConstituent {
  /** Honorific; CWC requires one, so DEFAULT_PREFIX is sent when none is given. */
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
  /** Both default to No: an office replies or subscribes the constituent only when they asked for it. */
  responseRequested?: boolean;
  newsletterOptIn?: boolean;
}

export type CwcLetter = CwcDocumentInput;

export type CwcSendResult =
  | { outcome: 'delivered'; receipt?: string }
  | { outcome: 'retry'; error: string }
  | { outcome: 'failed'; error: string };

// ---------------------------------------------------------------------------------------------------------------------
// The CWC 2.0 document, as we understand the CWC 2.0 schema. Everything about its shape lives in this section
// (names, order, which elements are optional, limits, code formats) so that a correction is made in one place.
//
//   <CWC>
//     <CWCVersion>2.0</CWCVersion>
//     <Delivery>      DeliveryId (32 letters/digits, unique per message: CWC's duplicate check), DeliveryDate (YYYYMMDD),
//                     DeliveryAgent, DeliveryAgentAckEmailAddress, DeliveryAgentContact (Name, Email, Phone),
//                     Organization, OrganizationContact (Name, Email, Phone), CampaignId
//     <Recipient>     MemberOffice, IsResponseRequested (Y|N), NewsletterOptIn (Y|N)
//     <Constituent>   Prefix, FirstName, LastName, Address1, City, StateAbbreviation, Zip, Email
//     <Message>       Subject, LibraryOfCongressTopics/LibraryOfCongressTopic+, OrganizationStatement?, ConstituentMessage
//   </CWC>
//
// Elements are sent in that order. Optional elements CWC knows but we have no data for (MiddleName, Suffix, Address2,
// Phone, Bills, ProOrCon, MoreInfo, ...) are left out rather than sent empty.
// ---------------------------------------------------------------------------------------------------------------------

export const CWC_VERSION = '2.0';

/** Sent when the constituent gave no honorific: CWC requires Prefix, and this one assumes no gender. */
export const DEFAULT_PREFIX = 'Mx.';

export const SUBJECT_MAX_LENGTH = 250;
export const MESSAGE_MAX_LENGTH = 10_000;
/** Our own cap for every other text field, well above any real name or address. */
const FIELD_MAX_LENGTH = 200;

/** Library of Congress policy areas, the vocabulary of LibraryOfCongressTopic. */
export const LIBRARY_OF_CONGRESS_TOPICS: ReadonlySet<string> = new Set([
  'Agriculture and Food',
  'Animals',
  'Armed Forces and National Security',
  'Arts, Culture, Religion',
  'Civil Rights and Liberties, Minority Issues',
  'Commerce',
  'Congress',
  'Crime and Law Enforcement',
  'Economics and Public Finance',
  'Education',
  'Emergency Management',
  'Energy',
  'Environmental Protection',
  'Families',
  'Finance and Financial Sector',
  'Foreign Trade and International Finance',
  'Government Operations and Politics',
  'Health',
  'Housing and Community Development',
  'Immigration',
  'International Affairs',
  'Labor and Employment',
  'Law',
  'Native Americans',
  'Public Lands and Natural Resources',
  'Science, Technology, Communications',
  'Social Welfare',
  'Sports and Recreation',
  'Taxation',
  'Transportation and Public Works',
  'Water Resources Development',
]);

export const DEFAULT_TOPIC = 'Civil Rights and Liberties, Minority Issues';

/** CWC dates a delivery by the calendar day in Washington. */
const DELIVERY_TIME_ZONE = 'America/New_York';

const HOUSE_OFFICE = /^H([A-Z]{2})\d{2}$/;
const SENATE_OFFICE = /^S[A-Z0-9]+$/;
const DELIVERY_ID = /^[A-Za-z0-9]{32}$/;

type XmlNode = readonly [name: string, content: string | ReadonlyArray<XmlNode | undefined>];

function documentTree(doc: CleanDocument, settings: CwcSettings): XmlNode {
  const agent = settings.deliveryAgent;
  const yesNo = (value: boolean | undefined) => (value ? 'Y' : 'N');
  return [
    'CWC',
    [
      ['CWCVersion', CWC_VERSION],
      [
        'Delivery',
        [
          ['DeliveryId', cwcDeliveryId(doc.deliveryId)],
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
          ['IsResponseRequested', yesNo(doc.responseRequested)],
          ['NewsletterOptIn', yesNo(doc.newsletterOptIn)],
        ],
      ],
      [
        'Constituent',
        [
          ['Prefix', doc.constituent.prefix || DEFAULT_PREFIX],
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
          doc.organizationStatement ? ['OrganizationStatement', doc.organizationStatement] : undefined,
          ['ConstituentMessage', doc.message],
        ],
      ],
    ],
  ];
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

// Characters XML 1.0 forbids or that have no place in a letter: C0 controls but tab/LF/CR, DEL, C1 controls, the
// non-characters U+FFFE/U+FFFF and unpaired surrogates.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffe\uffff]/g;
// Without the u flag a regex sees UTF-16 code units, which is what finding a lone half of a surrogate pair needs.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const LINE_BREAKS = /[\t\r\n\u2028\u2029]+/g;

const removeForbidden = (value: string) => value.replace(CONTROL, '').replace(LONE_SURROGATE, '');

/** One line of text: forbidden characters removed, line breaks and tabs become a space, trimmed. */
function singleLine(value: string): string {
  return removeForbidden(value).replace(LINE_BREAKS, ' ').trim();
}

/** Letter text: forbidden characters removed, every line break (CRLF, CR, LF, U+2028/9) one LF. */
function multiLine(value: string): string {
  return removeForbidden(value)
    .replace(/\r\n|[\r\u2028\u2029]/g, '\n')
    .trim();
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes text for an XML text node (removing, again, what XML cannot hold: this is the last line of defence). */
function escapeText(text: string): string {
  return removeForbidden(text).replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}

function renderNode([name, content]: XmlNode, indent: string): string {
  if (typeof content === 'string') return `${indent}<${name}>${escapeText(content)}</${name}>`;
  const children = content.filter((child): child is XmlNode => child !== undefined).map((child) => renderNode(child, `${indent}  `));
  return [`${indent}<${name}>`, ...children, `${indent}</${name}>`].join('\n');
}

/** The calendar day of `date` in Washington, as YYYYMMDD. */
function deliveryDate(date: Date): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: DELIVERY_TIME_ZONE, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(date);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}${part('month')}${part('day')}`;
}

// ---------------------------------------------------------------------------------------------------------------------
// Validation and building.
// ---------------------------------------------------------------------------------------------------------------------

type CleanDocument = Omit<CwcDocumentInput, 'constituent' | 'topic'> & { constituent: CwcConstituent; topic: string };

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
    organizationStatement: input.organizationStatement === undefined ? undefined : multiLine(input.organizationStatement),
    responseRequested: input.responseRequested,
    newsletterOptIn: input.newsletterOptIn,
  };
}

/** Length in characters (code points), as a person counts them. */
const length = (text: string) => [...text].length;

/**
 * Field errors for a document, keyed by field (`office`, `constituent.zip`, ...); empty when it can be built and sent.
 * Fields are checked as they will be sent (see clean). Messages never repeat the value.
 */
export function validateCwcDocument(input: CwcDocumentInput): FieldErrors {
  const doc = clean(input);
  const c = doc.constituent;
  const errors: FieldErrors = {};
  const required: Array<[field: string, value: string, label: string]> = [
    ['deliveryId', doc.deliveryId, 'a delivery id'],
    ['office', doc.office, 'the member office code'],
    ['constituent.firstName', c.firstName, 'a first name'],
    ['constituent.lastName', c.lastName, 'a last name'],
    ['constituent.address1', c.address1, 'a street address'],
    ['constituent.city', c.city, 'a city'],
    ['constituent.state', c.state, 'a state'],
    ['constituent.zip', c.zip, 'a ZIP code'],
    ['constituent.email', c.email, 'an email address'],
    ['subject', doc.subject, 'a subject'],
    ['message', doc.message, 'a message'],
  ];
  for (const [field, value, label] of required) {
    if (value === '') errors[field] = `CWC needs ${label}.`;
    else if (length(value) > FIELD_MAX_LENGTH && field !== 'subject' && field !== 'message') {
      errors[field] = `Must be at most ${FIELD_MAX_LENGTH} characters.`;
    }
  }
  if (c.prefix !== undefined && length(c.prefix) > 20) errors['constituent.prefix'] = 'Must be at most 20 characters.';

  if (!(input.date instanceof Date) || Number.isNaN(input.date.getTime())) errors['date'] = 'Must be a valid date.';
  if (doc.office !== '' && !isOfficeCode(doc.office)) {
    errors['office'] = 'Must be a House office code like HCA12 (H, state, two-digit district) or a Senate office code starting with S.';
  }
  if (c.state !== '' && !(/^[A-Z]{2}$/.test(c.state) && isStateCode(c.state))) {
    errors['constituent.state'] = 'Must be a two-letter USPS state code.';
  }
  if (c.zip !== '' && !/^\d{5}$/.test(c.zip)) errors['constituent.zip'] = 'Must be a 5-digit ZIP code.';
  if (c.email !== '' && !errors['constituent.email'] && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(c.email)) {
    errors['constituent.email'] = 'Must be an email address.';
  }
  if (length(doc.subject) > SUBJECT_MAX_LENGTH) errors['subject'] = `Must be at most ${SUBJECT_MAX_LENGTH} characters.`;
  if (length(doc.message) > MESSAGE_MAX_LENGTH) {
    errors['message'] = `Must be at most ${MESSAGE_MAX_LENGTH.toLocaleString('en-US')} characters.`;
  }
  if (doc.organizationStatement !== undefined && length(doc.organizationStatement) > MESSAGE_MAX_LENGTH) {
    errors['organizationStatement'] = `Must be at most ${MESSAGE_MAX_LENGTH.toLocaleString('en-US')} characters.`;
  }
  if (!LIBRARY_OF_CONGRESS_TOPICS.has(doc.topic)) errors['topic'] = 'Must be a Library of Congress policy area, like "Law".';
  return errors;
}

function isOfficeCode(office: string): boolean {
  const house = HOUSE_OFFICE.exec(office);
  if (house) return isStateCode(house[1] ?? '');
  return SENATE_OFFICE.test(office);
}

/** The CWC XML document for a letter. Validate first (validateCwcDocument): this only cleans and escapes. */
export function buildCwcDocument(input: CwcDocumentInput, settings: CwcSettings): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${renderNode(documentTree(clean(input), settings), '')}\n`;
}

// ---------------------------------------------------------------------------------------------------------------------
// Sending.
// ---------------------------------------------------------------------------------------------------------------------

export const DEFAULT_CWC_TIMEOUT_MS = 15_000;

/** HTTP answers worth asking again: the server was busy or briefly unable. Every other non-2xx is permanent. */
const RETRYABLE_STATUS = new Set([408, 425, 429]);

/**
 * Sends letters to CWC. Never logs; errors are short descriptions (status, cause) that never carry the API key or
 * the constituent's data, so callers may record them as they are.
 */
export class CwcChannel {
  readonly name = 'cwc';
  private readonly endpoint: URL;
  private readonly timeoutMs: number;

  constructor(
    private readonly settings: CwcSettings,
    options: { timeoutMs?: number } = {},
  ) {
    if (!URL.canParse(settings.url) || !['http:', 'https:'].includes(new URL(settings.url).protocol)) {
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
    if (missing.length > 0) throw new TypeError(`CwcChannel: required settings missing: ${missing.map(([key]) => key).join(', ')}`);
    this.endpoint = new URL(settings.url);
    this.endpoint.searchParams.set('apikey', settings.apiKey);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CWC_TIMEOUT_MS;
  }

  async send(letter: CwcLetter): Promise<CwcSendResult> {
    const errors = validateCwcDocument(letter);
    const invalid = Object.keys(errors);
    if (invalid.length > 0) return { outcome: 'failed', error: `invalid CWC document: ${invalid.join(', ')}` };

    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/xml', accept: 'application/xml, text/xml, */*' },
        body: buildCwcDocument(letter, this.settings),
        // A redirect would carry the API key to wherever it points: treat it as an answer instead.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      return { outcome: 'retry', error: this.describe(error) };
    }
    // The body is not read: CWC's error text may quote the constituent's data back.
    await response.body?.cancel().catch(() => undefined);

    const status = response.status;
    if (status >= 200 && status < 300) return { outcome: 'delivered', receipt: cwcDeliveryId(singleLine(letter.deliveryId)) };
    if (status >= 500 || RETRYABLE_STATUS.has(status)) return { outcome: 'retry', error: `CWC answered HTTP ${status}` };
    if (status === 401 || status === 403) return { outcome: 'failed', error: `CWC refused the API key (HTTP ${status})` };
    if (status >= 300 && status < 400) {
      return { outcome: 'failed', error: `CWC answered with a redirect (HTTP ${status}); check the CWC url` };
    }
    return { outcome: 'failed', error: `CWC rejected the document (HTTP ${status})` };
  }

  private describe(error: unknown): string {
    // By name, not instanceof: fetch's DOMException may come from another realm.
    const name = typeof error === 'object' && error !== null && 'name' in error ? error.name : undefined;
    if (name === 'TimeoutError') return `CWC did not answer within ${this.timeoutMs} ms`;
    const cause = typeof error === 'object' && error !== null && 'cause' in error ? error.cause : undefined;
    const code = typeof cause === 'object' && cause !== null && 'code' in cause ? cause.code : undefined;
    // Only an error code such as ECONNREFUSED: messages may name the URL, and with it the API key.
    return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? `CWC could not be reached (${code})` : 'CWC could not be reached';
  }
}
