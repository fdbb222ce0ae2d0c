import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  buildCwcDocument,
  CwcChannel,
  cwcDeliveryId,
  cwcValidationUrl,
  validateCwcDocument,
  type CwcDocumentInput,
  type CwcSendResult,
  type CwcSettings,
} from '../../src/delivery/cwc';
import {
  checkCwcDocument,
  CWC_PREFIXES,
  LIBRARY_OF_CONGRESS_TOPICS,
} from '../../src/delivery/cwc-schema';
import { houseOfficeCode, senateOfficeCode } from '../../src/representatives/congress-offices';

// An API key with characters that must be encoded in a query string.
const API_KEY = 'test-key/with+special&chars=1';
const DELIVERY_KEY = '5f0c6a1e-8d2b-4c1f-9a7e-3b2d1c0e9f8a';
const KNOWN_OFFICES = new Set(['HCA12', 'HAK00', 'SCA02', 'SZZ99']);

const settings = (url: string): CwcSettings => ({
  url,
  apiKey: API_KEY,
  deliveryAgent: {
    name: 'Coalition Tech Desk',
    email: 'tech@coalition.example',
    phone: '202-555-0100',
    ackEmail: 'cwc-ack@coalition.example',
  },
  organization: 'Coalition for Civil Liberties',
  campaignId: 'ban-police-facial-recognition',
});

const letter = (overrides: Partial<CwcDocumentInput> = {}): CwcDocumentInput => ({
  deliveryId: DELIVERY_KEY,
  date: new Date('2025-03-04T15:00:00Z'),
  office: 'HCA12',
  constituent: {
    prefix: 'Ms.',
    firstName: 'Ada <b>&"Lovelace"',
    lastName: "O'Brien",
    address1: '123 Mission St',
    city: 'San Francisco',
    state: 'CA',
    zip: '94105',
    email: 'ada.private@example.org',
  },
  subject: 'Stop police use of facial recognition',
  message: 'Dear Representative,\r\n\r\nPlease support a moratorium.\nThank you,\rAda',
  ...overrides,
});

/** What must never appear in an error: the API key and the constituent's data. */
const SECRETS = [
  API_KEY,
  encodeURIComponent(API_KEY),
  'ada.private@example.org',
  'Lovelace',
  "O'Brien",
  '123 Mission St',
  '94105',
];

function expectSafe(result: CwcSendResult): void {
  const text = JSON.stringify(result);
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

// ---------------------------------------------------------------------------------------------------------------------
// A tiny checker for the XML we produce: elements without attributes, text, and the five predefined entities.
// It fails on anything else, which is what a document meant for CWC must never contain.
// ---------------------------------------------------------------------------------------------------------------------

interface Element {
  name: string;
  children: Element[];
  text: string;
}

const ENTITY_VALUES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function parseXml(xml: string): Element {
  const token = /<\?xml version="1\.0" encoding="UTF-8"\?>|<(\/?)([A-Za-z][A-Za-z0-9]*)>|([^<]+)/gy;
  const root: Element = { name: '#document', children: [], text: '' };
  const stack: Element[] = [root];
  let match: RegExpExecArray | null;
  while (token.lastIndex < xml.length && (match = token.exec(xml)) !== null) {
    const [whole, closing, name, text] = match;
    const top = stack[stack.length - 1];
    if (!top) throw new Error('unbalanced');
    if (text !== undefined) {
      if (/[>"']/.test(text) || /&(?!(amp|lt|gt|quot|apos);)/.test(text))
        throw new Error(`unescaped text: ${text}`);
      if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(text))
        throw new Error('control character in text');
      top.text += text.replace(
        /&(amp|lt|gt|quot|apos);/g,
        (_, entity: string) => ENTITY_VALUES[entity] ?? '',
      );
    } else if (name !== undefined && closing === '/') {
      if (top.name !== name) throw new Error(`</${name}> closes <${top.name}>`);
      stack.pop();
    } else if (name !== undefined) {
      const element: Element = { name, children: [], text: '' };
      top.children.push(element);
      stack.push(element);
    } else if (!whole.startsWith('<?xml') || match.index !== 0) {
      throw new Error('unexpected declaration');
    }
  }
  if (token.lastIndex !== xml.length) throw new Error(`not well-formed at ${token.lastIndex}`);
  if (stack.length !== 1) throw new Error('unclosed element');
  const elements = root.children;
  if (elements.length !== 1 || root.text.trim() !== '')
    throw new Error('not exactly one root element');
  return elements[0] as Element;
}

/** The element at a path like `Constituent/FirstName` (under the root), or undefined. */
function find(root: Element, path: string): Element | undefined {
  let node: Element | undefined = root;
  for (const name of path.split('/')) node = node?.children.find((child) => child.name === name);
  return node;
}

const textAt = (root: Element, path: string) => find(root, path)?.text;

const REQUIRED_PATHS = [
  'CWCVersion',
  'Delivery/DeliveryId',
  'Delivery/DeliveryDate',
  'Delivery/DeliveryAgent',
  'Delivery/DeliveryAgentAckEmailAddress',
  'Delivery/DeliveryAgentContact/DeliveryAgentContactName',
  'Delivery/DeliveryAgentContact/DeliveryAgentContactEmail',
  'Delivery/DeliveryAgentContact/DeliveryAgentContactPhone',
  'Delivery/Organization',
  'Delivery/OrganizationContact/OrganizationContactName',
  'Delivery/OrganizationContact/OrganizationContactEmail',
  'Delivery/OrganizationContact/OrganizationContactPhone',
  'Delivery/CampaignId',
  'Recipient/MemberOffice',
  'Constituent/Prefix',
  'Constituent/FirstName',
  'Constituent/LastName',
  'Constituent/Address1',
  'Constituent/City',
  'Constituent/StateAbbreviation',
  'Constituent/Zip',
  'Constituent/Email',
  'Message/Subject',
  'Message/LibraryOfCongressTopics/LibraryOfCongressTopic',
  'Message/ConstituentMessage',
];

// ---------------------------------------------------------------------------------------------------------------------
// The fake CWC endpoint.
// ---------------------------------------------------------------------------------------------------------------------

interface Received {
  method: string;
  url: URL;
  contentType: string | undefined;
  body: string;
}

type Handler = (req: Received, res: ServerResponse) => void;

/** Answers like CWC would: 401 for a wrong key, 400 for a document it cannot take, 200 otherwise. */
const cwcLike: Handler = (req, res) => {
  if (req.url.searchParams.get('apikey') !== API_KEY)
    return void res.writeHead(401).end('<Errors><Error>Invalid API key</Error></Errors>');
  let root: Element;
  try {
    root = parseXml(req.body);
  } catch {
    return void res.writeHead(400).end('<Errors><Error>Malformed XML</Error></Errors>');
  }
  const missing = REQUIRED_PATHS.filter((path) => !textAt(root, path));
  const office = textAt(root, 'Recipient/MemberOffice') ?? '';
  if (
    root.name !== 'CWC' ||
    missing.length > 0 ||
    checkCwcDocument(req.body).length > 0 ||
    !KNOWN_OFFICES.has(office) ||
    office === 'SZZ99'
  ) {
    // Like a real server might, this quotes what it received: the channel must not pass it on.
    const email = textAt(root, 'Constituent/Email');
    const name = textAt(root, 'Constituent/LastName');
    const quoted = `<Errors><Error>Office ${office} does not take messages from ${email} (${name})</Error><Error>Check &amp; resend</Error></Errors>`;
    return void res.writeHead(400, { 'content-type': 'application/xml' }).end(quoted);
  }
  res
    .writeHead(200, { 'content-type': 'application/xml' })
    .end('<Response><Status>Success</Status></Response>');
};

let server: Server;
let baseUrl: string;
let endpoint: string;
let handler: Handler;
let received: Received[];
const sockets = new Set<Socket>();
const timers = new Set<NodeJS.Timeout>();

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: Received = {
        method: req.method ?? '',
        url: new URL(req.url ?? '/', baseUrl),
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(request);
      handler(request, res);
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  endpoint = `${baseUrl}/v2/message`;
});

beforeEach(() => {
  received = [];
  handler = cwcLike;
});

afterAll(async () => {
  for (const timer of timers) clearTimeout(timer);
  for (const socket of sockets) socket.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
});

const channel = (options: { timeoutMs?: number } = {}, url = endpoint) =>
  new CwcChannel(settings(url), options);

// ---------------------------------------------------------------------------------------------------------------------

describe('senateOfficeCode', () => {
  it('is S, the USPS code and the class less one in two digits', () => {
    expect(senateOfficeCode('CA', 1)).toBe('SCA00');
    expect(senateOfficeCode('co', 2)).toBe('SCO01');
    expect(senateOfficeCode('VT', 3)).toBe('SVT02');
  });

  it('refuses an unknown state or class', () => {
    expect(() => senateOfficeCode('XX', 1)).toThrow(RangeError);
    expect(() => senateOfficeCode('CA', 0)).toThrow(RangeError);
    expect(() => senateOfficeCode('CA', 4)).toThrow(RangeError);
  });
});

describe('checkCwcDocument', () => {
  const good = () => buildCwcDocument(letter(), settings(endpoint));

  it('takes the documents we write, with every optional element we use', () => {
    expect(checkCwcDocument(good())).toEqual([]);
    const full = letter({
      topic: 'Law',
      organizationStatement: 'From the coalition.',
      responseRequested: true,
      newsletterOptIn: true,
    });
    expect(checkCwcDocument(buildCwcDocument(full, settings(endpoint)))).toEqual([]);
  });

  it('knows CWC 2.0: its 24 honorifics and its 32 topics', () => {
    expect(CWC_PREFIXES).toHaveLength(24);
    expect(LIBRARY_OF_CONGRESS_TOPICS).toHaveLength(32);
    expect(new Set(LIBRARY_OF_CONGRESS_TOPICS).size).toBe(32);
  });

  const problems = (xml: string) => checkCwcDocument(xml).map((p) => `${p.path} ${p.problem}`);

  it.each<[string, (xml: string) => string, RegExp]>([
    [
      'elements out of order',
      (xml) => xml.replace(/(<FirstName>.*<\/FirstName>)\s*(<LastName>.*<\/LastName>)/, '$2$1'),
      /FirstName is out of order|LastName/,
    ],
    [
      'a required element missing',
      (xml) => xml.replace(/\s*<Email>.*<\/Email>/, ''),
      /CWC\/Constituent\/Email is required/,
    ],
    [
      'an element CWC does not know',
      (xml) => xml.replace('<City>', '<Town>x</Town><City>'),
      /Town is not an element of CWC 2.0 here/,
    ],
    [
      'an element twice',
      (xml) => xml.replace(/(<Zip>.*<\/Zip>)/, '$1$1'),
      /Zip must appear once|Zip is out of order/,
    ],
    [
      'a prefix CWC does not list',
      (xml) => xml.replace('<Prefix>Ms.</Prefix>', '<Prefix>Mx.</Prefix>'),
      /Prefix must be one of CWC's honorifics/,
    ],
    ['no prefix', (xml) => xml.replace(/\s*<Prefix>.*<\/Prefix>/, ''), /Prefix is required/],
    [
      'a DeliveryId of 31 characters',
      (xml) => xml.replace(/<DeliveryId>.(.{31})<\/DeliveryId>/, '<DeliveryId>$1</DeliveryId>'),
      /DeliveryId must be 32 letters and digits/,
    ],
    [
      'a date that does not exist',
      (xml) =>
        xml.replace(/<DeliveryDate>\d+<\/DeliveryDate>/, '<DeliveryDate>20250230</DeliveryDate>'),
      /DeliveryDate must be a date written YYYYMMDD/,
    ],
    [
      'a phone not written xxx-xxx-xxxx',
      (xml) => xml.replace('202-555-0100', '(202) 555-0100'),
      /DeliveryAgentContactPhone must be a phone number/,
    ],
    [
      'a topic outside the 32',
      (xml) => xml.replace('Civil Rights and Liberties, Minority Issues', 'Surveillance'),
      /LibraryOfCongressTopic must be a Library of Congress policy area/,
    ],
    [
      'an office code of neither chamber',
      (xml) => xml.replace('HCA12', 'XCA12'),
      /MemberOffice must be an office code/,
    ],
    [
      'a Senate code of the old free form',
      (xml) => xml.replace('HCA12', 'SPADLIN01'),
      /MemberOffice must be an office code/,
    ],
    [
      'no message at all',
      (xml) => xml.replace(/\s*<ConstituentMessage>[\s\S]*<\/ConstituentMessage>/, ''),
      /Message needs a ConstituentMessage/,
    ],
    [
      'an attribute',
      (xml) => xml.replace('<Zip>', '<Zip type="x">'),
      /Zip attributes are not allowed/,
    ],
    [
      'text where elements go',
      (xml) => xml.replace('<Recipient>', '<Recipient>hello'),
      /Recipient must hold elements/,
    ],
    [
      'a document type declaration',
      (xml) => xml.replace('<CWC>', '<!DOCTYPE CWC [<!ENTITY x "y">]><CWC>'),
      /document type declaration is not allowed/,
    ],
    ['a broken document', (xml) => xml.replace('</Zip>', '</Zap>'), /not well-formed XML/],
    ['another root', (xml) => xml.replace(/<(\/?)CWC>/g, '<$1Letter>'), /one CWC element/],
  ])('finds %s', (_, edit, expected) => {
    expect(problems(edit(good())).join('\n')).toMatch(expected);
  });

  it('never repeats the values it found', () => {
    const found = JSON.stringify(
      checkCwcDocument(
        good()
          .replace('94105', 'ZIP-secret')
          .replace('<Prefix>Ms.</Prefix>', '<Prefix>Secretly</Prefix>'),
      ),
    );
    expect(found).not.toMatch(/secret/i);
  });
});

describe('cwcValidationUrl', () => {
  it('is the validation endpoint beside the message endpoint', () => {
    expect(cwcValidationUrl('https://cwc.example/v2/message')).toBe(
      'https://cwc.example/v2/validate',
    );
    expect(cwcValidationUrl('https://cwc.example/api/v2/message/?x=1')).toBe(
      'https://cwc.example/api/v2/validate?x=1',
    );
    expect(() => cwcValidationUrl('https://cwc.example/v2/other')).toThrow(TypeError);
  });
});

describe('houseOfficeCode', () => {
  it('is H, the USPS code and a two-digit district, 00 for an at-large seat', () => {
    expect(houseOfficeCode('CA', 12)).toBe('HCA12');
    expect(houseOfficeCode('ny', 3)).toBe('HNY03');
    expect(houseOfficeCode('AK', 0)).toBe('HAK00');
    expect(houseOfficeCode('DC', 0)).toBe('HDC00');
  });

  it('refuses an unknown state or an impossible district', () => {
    expect(() => houseOfficeCode('XX', 1)).toThrow(RangeError);
    expect(() => houseOfficeCode('CA', -1)).toThrow(RangeError);
    expect(() => houseOfficeCode('CA', 100)).toThrow(RangeError);
    expect(() => houseOfficeCode('CA', 1.5)).toThrow(RangeError);
  });
});

describe('buildCwcDocument', () => {
  it('writes every required element of a CWC 2.0 document, in a well-formed document', () => {
    const xml = buildCwcDocument(letter(), settings(endpoint));
    const root = parseXml(xml);

    expect(root.name).toBe('CWC');
    for (const path of REQUIRED_PATHS)
      expect([path, textAt(root, path)]).toEqual([path, expect.stringMatching(/\S/)]);
    expect(root.children.map((child) => child.name)).toEqual([
      'CWCVersion',
      'Delivery',
      'Recipient',
      'Constituent',
      'Message',
    ]);
    expect(textAt(root, 'CWCVersion')).toBe('2.0');
    expect(textAt(root, 'Delivery/DeliveryId')).toBe('5f0c6a1e8d2b4c1f9a7e3b2d1c0e9f8a');
    expect(textAt(root, 'Delivery/DeliveryDate')).toBe('20250304');
    expect(textAt(root, 'Delivery/DeliveryAgent')).toBe('Coalition Tech Desk');
    expect(textAt(root, 'Delivery/DeliveryAgentAckEmailAddress')).toBe('cwc-ack@coalition.example');
    expect(textAt(root, 'Delivery/DeliveryAgentContact/DeliveryAgentContactPhone')).toBe(
      '202-555-0100',
    );
    expect(textAt(root, 'Delivery/Organization')).toBe('Coalition for Civil Liberties');
    expect(textAt(root, 'Delivery/CampaignId')).toBe('ban-police-facial-recognition');
    expect(textAt(root, 'Recipient/MemberOffice')).toBe('HCA12');
    expect(find(root, 'Recipient/IsResponseRequested')).toBeUndefined();
    expect(find(root, 'Recipient/NewsletterOptIn')).toBeUndefined();
    expect(textAt(root, 'Constituent/Prefix')).toBe('Ms.');
    expect(checkCwcDocument(xml)).toEqual([]);
    expect(textAt(root, 'Constituent/StateAbbreviation')).toBe('CA');
    expect(textAt(root, 'Constituent/Zip')).toBe('94105');
    expect(textAt(root, 'Constituent/Email')).toBe('ada.private@example.org');
    expect(textAt(root, 'Message/Subject')).toBe('Stop police use of facial recognition');
    expect(textAt(root, 'Message/LibraryOfCongressTopics/LibraryOfCongressTopic')).toBe(
      'Civil Rights and Liberties, Minority Issues',
    );
    expect(find(root, 'Message/OrganizationStatement')).toBeUndefined();
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<CWC>')).toBe(true);
  });

  it('escapes every text node, so a name with markup round-trips as text', () => {
    const xml = buildCwcDocument(
      letter({ subject: `Ban it <now> & "forever" isn't too soon` }),
      settings(endpoint),
    );

    expect(xml).toContain('<FirstName>Ada &lt;b&gt;&amp;&quot;Lovelace&quot;</FirstName>');
    expect(xml).toContain('<LastName>O&apos;Brien</LastName>');
    expect(xml).not.toContain('<b>');
    const root = parseXml(xml);
    expect(textAt(root, 'Constituent/FirstName')).toBe('Ada <b>&"Lovelace"');
    expect(textAt(root, 'Constituent/LastName')).toBe("O'Brien");
    expect(textAt(root, 'Message/Subject')).toBe(`Ban it <now> & "forever" isn't too soon`);
  });

  it('escapes the settings too', () => {
    const root = parseXml(
      buildCwcDocument(letter(), {
        ...settings(endpoint),
        organization: 'Civil Liberties <Coalition> & Friends',
      }),
    );
    expect(textAt(root, 'Delivery/Organization')).toBe('Civil Liberties <Coalition> & Friends');
  });

  it('keeps the line breaks of the message (as LF) and only there', () => {
    const input = letter({
      subject: 'Line one\r\nBcc: injected',
      constituent: { ...letter().constituent, city: 'San\nFrancisco' },
    });
    const root = parseXml(buildCwcDocument(input, settings(endpoint)));

    expect(textAt(root, 'Message/ConstituentMessage')).toBe(
      'Dear Representative,\n\nPlease support a moratorium.\nThank you,\nAda',
    );
    expect(textAt(root, 'Message/Subject')).toBe('Line one Bcc: injected');
    expect(textAt(root, 'Constituent/City')).toBe('San Francisco');
  });

  it('removes control characters and lone surrogates, and keeps real emoji', () => {
    const xml = buildCwcDocument(
      letter({
        constituent: {
          ...letter().constituent,
          firstName: 'A\u0000d\u0007a\u001b\u0085',
          lastName: 'Love\ud800lace',
        },
        message: 'Hello\u0008 world \u{1F5FD}\u000c\nBye\u007f',
      }),
      settings(endpoint),
    );
    const root = parseXml(xml);

    expect(textAt(root, 'Constituent/FirstName')).toBe('Ada');
    expect(textAt(root, 'Constituent/LastName')).toBe('Lovelace');
    expect(textAt(root, 'Message/ConstituentMessage')).toBe('Hello world \u{1F5FD}\nBye');
    expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/);
  });

  it('sends the topic, the organisation statement, the prefix and the opt-ins when given', () => {
    const root = parseXml(
      buildCwcDocument(
        letter({
          topic: 'Law',
          organizationStatement: 'The coalition asks for a moratorium.\nSee our report.',
          responseRequested: true,
          newsletterOptIn: true,
          constituent: { ...letter().constituent, prefix: 'Dr.' },
        }),
        settings(endpoint),
      ),
    );

    expect(textAt(root, 'Message/LibraryOfCongressTopics/LibraryOfCongressTopic')).toBe('Law');
    expect(textAt(root, 'Message/OrganizationStatement')).toBe(
      'The coalition asks for a moratorium.\nSee our report.',
    );
    expect(find(root, 'Message')?.children.map((child) => child.name)).toEqual([
      'Subject',
      'LibraryOfCongressTopics',
      'OrganizationStatement',
      'ConstituentMessage',
    ]);
    expect(textAt(root, 'Recipient/IsResponseRequested')).toBe('Y');
    expect(textAt(root, 'Recipient/NewsletterOptIn')).toBe('Y');
    expect(textAt(root, 'Constituent/Prefix')).toBe('Dr.');
  });

  it('dates the delivery by the day in Washington', () => {
    const root = parseXml(
      buildCwcDocument(letter({ date: new Date('2025-03-05T03:30:00Z') }), settings(endpoint)),
    );
    expect(textAt(root, 'Delivery/DeliveryDate')).toBe('20250304');
  });
});

describe('cwcDeliveryId', () => {
  it('is 32 letters and digits, and the same for the same key', () => {
    expect(cwcDeliveryId(DELIVERY_KEY)).toBe('5f0c6a1e8d2b4c1f9a7e3b2d1c0e9f8a');
    expect(cwcDeliveryId('ABCDEFGHIJKLMNOPQRSTUVWXYZ012345')).toBe(
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345',
    );
    expect(cwcDeliveryId('letter:42/target:7')).toMatch(/^[0-9a-f]{32}$/);
    expect(cwcDeliveryId('letter:42/target:7')).toBe(cwcDeliveryId('letter:42/target:7'));
    expect(cwcDeliveryId('letter:42/target:8')).not.toBe(cwcDeliveryId('letter:42/target:7'));
  });
});

describe('validateCwcDocument', () => {
  it('finds nothing wrong with a good letter, for a House or a Senate office', () => {
    const check = (input: CwcDocumentInput) => validateCwcDocument(input, settings(endpoint));
    expect(check(letter())).toEqual({});
    expect(check(letter({ office: 'HAK00' }))).toEqual({});
    expect(check(letter({ office: 'SCA02', topic: 'Law' }))).toEqual({});
    expect(check(letter({ subject: 's'.repeat(250), message: 'm'.repeat(10_000) }))).toEqual({});
  });

  const constituent = letter().constituent;
  const cases: Array<[string, Partial<CwcDocumentInput>, string]> = [
    ['no delivery id', { deliveryId: ' ' }, 'deliveryId'],
    ['no office', { office: '' }, 'office'],
    ['a House code without its district', { office: 'HCA1' }, 'office'],
    ['a House code for no state', { office: 'HXX01' }, 'office'],
    ['a code for neither chamber', { office: 'XCA12' }, 'office'],
    ['a Senate code with punctuation', { office: 'S-CA' }, 'office'],
    ['a Senate code of the old free form', { office: 'SPADLIN01' }, 'office'],
    ['no honorific', { constituent: { ...constituent, prefix: undefined } }, 'constituent.prefix'],
    [
      'an honorific CWC does not list',
      { constituent: { ...constituent, prefix: 'Mx.' } },
      'constituent.prefix',
    ],
    ['an invalid date', { date: new Date('not a date') }, 'date'],
    [
      'no first name',
      { constituent: { ...constituent, firstName: '\u0000 ' } },
      'constituent.firstName',
    ],
    ['no last name', { constituent: { ...constituent, lastName: '' } }, 'constituent.lastName'],
    ['no address', { constituent: { ...constituent, address1: '' } }, 'constituent.address1'],
    ['no city', { constituent: { ...constituent, city: '' } }, 'constituent.city'],
    ['no state', { constituent: { ...constituent, state: '' } }, 'constituent.state'],
    ['a state name', { constituent: { ...constituent, state: 'California' } }, 'constituent.state'],
    [
      'an unknown state code',
      { constituent: { ...constituent, state: 'ZZ' } },
      'constituent.state',
    ],
    ['no ZIP', { constituent: { ...constituent, zip: '' } }, 'constituent.zip'],
    ['a 4-digit ZIP', { constituent: { ...constituent, zip: '9410' } }, 'constituent.zip'],
    ['a ZIP+4', { constituent: { ...constituent, zip: '94105-1234' } }, 'constituent.zip'],
    ['a ZIP with letters', { constituent: { ...constituent, zip: '9410a' } }, 'constituent.zip'],
    ['no email', { constituent: { ...constituent, email: '' } }, 'constituent.email'],
    [
      'an email without @',
      { constituent: { ...constituent, email: 'ada.example.org' } },
      'constituent.email',
    ],
    [
      'a first name of 201 characters',
      { constituent: { ...constituent, firstName: 'a'.repeat(201) } },
      'constituent.firstName',
    ],
    ['no subject', { subject: '\r\n' }, 'subject'],
    ['a subject of 251 characters', { subject: 's'.repeat(251) }, 'subject'],
    ['no message', { message: '  \n ' }, 'message'],
    ['a message of 10,001 characters', { message: 'm'.repeat(10_001) }, 'message'],
    ['an unknown topic', { topic: 'Surveillance' }, 'topic'],
  ];

  it.each(cases)('reports %s', (_, overrides, field) => {
    const errors = validateCwcDocument(letter(overrides), settings(endpoint));
    expect(Object.keys(errors)).toEqual([field]);
    expect(errors[field]).toEqual(expect.any(String));
  });

  it('reports every bad field at once, without repeating the values', () => {
    const errors = validateCwcDocument(
      letter({
        office: 'nonsense!',
        subject: '',
        constituent: { ...constituent, state: 'Cal', zip: '123', email: 'ada.private@' },
      }),
      settings(endpoint),
    );
    expect(Object.keys(errors).sort()).toEqual([
      'constituent.email',
      'constituent.state',
      'constituent.zip',
      'office',
      'subject',
    ]);
    expect(JSON.stringify(errors)).not.toMatch(/nonsense|Cal"|ada\.private|"123/);
  });
});

describe('CwcChannel', () => {
  it('posts the document as application/xml with the API key as a query parameter, and a 200 is delivered', async () => {
    const result = await channel().send(letter());

    expect(result).toEqual({ outcome: 'delivered', receipt: '5f0c6a1e8d2b4c1f9a7e3b2d1c0e9f8a' });
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.method).toBe('POST');
    expect(request?.url.pathname).toBe('/v2/message');
    expect(request?.url.searchParams.get('apikey')).toBe(API_KEY);
    expect(request?.contentType).toBe('application/xml');
    const root = parseXml(request?.body ?? '');
    expect(textAt(root, 'Constituent/FirstName')).toBe('Ada <b>&"Lovelace"');
    expect(textAt(root, 'Message/ConstituentMessage')).toBe(
      'Dear Representative,\n\nPlease support a moratorium.\nThank you,\nAda',
    );
  });

  it('keeps a query string already in the url', async () => {
    await expect(channel({}, `${endpoint}?version=2`).send(letter())).resolves.toMatchObject({
      outcome: 'delivered',
    });
    expect(received[0]?.url.searchParams.get('version')).toBe('2');
    expect(received[0]?.url.searchParams.get('apikey')).toBe(API_KEY);
  });

  it("treats a document CWC refuses (400) as failed, with CWC's <Error> lines for staff but not what CWC quoted", async () => {
    // The office code passes our check (SZZ99 would not), and CWC refuses it.
    handler = (req, res) => cwcLike({ ...req, body: req.body.replace('SCA02', 'SZZ99') }, res);
    const refused = await channel().send(letter({ office: 'SCA02' }));

    expect(refused).toEqual({
      outcome: 'failed',
      error:
        'CWC rejected the document (HTTP 400): Office SZZ99 does not take messages from … (…); Check & resend',
    });
    expect(received).toHaveLength(1);
    expectSafe(refused);
  });

  it('takes an answer that CWC already has this DeliveryId as delivered: an earlier attempt got there', async () => {
    handler = (_req, res) =>
      void res.writeHead(400).end('<Errors><Error>Duplicate DeliveryId</Error></Errors>');
    await expect(channel().send(letter())).resolves.toEqual({
      outcome: 'delivered',
      receipt: '5f0c6a1e8d2b4c1f9a7e3b2d1c0e9f8a',
    });
  });

  it('posts a rehearsal to the validation endpoint beside the message endpoint', async () => {
    const result = await channel().send(letter(), { validateOnly: true });

    expect(result).toMatchObject({ outcome: 'delivered' });
    expect(received.map((request) => request.url.pathname)).toEqual(['/v2/validate']);
    expect(received[0]?.url.searchParams.get('apikey')).toBe(API_KEY);
  });

  it('treats a wrong API key (401) as failed', async () => {
    const result = await new CwcChannel({ ...settings(endpoint), apiKey: 'not-the-key' }).send(
      letter(),
    );

    expect(result).toEqual({
      outcome: 'failed',
      error: 'CWC refused the API key (HTTP 401): Invalid API key',
    });
    expect(JSON.stringify(result)).not.toContain('not-the-key');
  });

  it.each([400, 401, 403, 404, 409, 410, 413, 422])(
    'treats HTTP %i as a permanent failure',
    async (status) => {
      handler = (_req, res) =>
        void res.writeHead(status).end(`<Error>${API_KEY} ada.private@example.org</Error>`);
      const result = await channel().send(letter());

      expect(result).toEqual({
        outcome: 'failed',
        error: expect.stringContaining(`HTTP ${status}`),
      });
      expectSafe(result);
    },
  );

  it.each([408, 429, 500, 502, 503, 504])('treats HTTP %i as worth a retry', async (status) => {
    handler = (_req, res) =>
      void res.writeHead(status).end(`<Error>${API_KEY} ada.private@example.org</Error>`);
    const result = await channel().send(letter());

    expect(result).toEqual({ outcome: 'retry', error: `CWC answered HTTP ${status}` });
    expectSafe(result);
  });

  it('retries after a 503, and the retry carries the same DeliveryId', async () => {
    let calls = 0;
    handler = (req, res) => (++calls === 1 ? void res.writeHead(503).end() : cwcLike(req, res));
    const cwc = channel();

    const first = await cwc.send(letter());
    const second = await cwc.send(letter());

    expect(first).toEqual({ outcome: 'retry', error: 'CWC answered HTTP 503' });
    expect(second).toEqual({ outcome: 'delivered', receipt: '5f0c6a1e8d2b4c1f9a7e3b2d1c0e9f8a' });
    const ids = received.map((request) => textAt(parseXml(request.body), 'Delivery/DeliveryId'));
    expect(ids).toEqual(['5f0c6a1e8d2b4c1f9a7e3b2d1c0e9f8a', '5f0c6a1e8d2b4c1f9a7e3b2d1c0e9f8a']);
  });

  it('gives up waiting after the timeout, and that is a retry', async () => {
    handler = (req, res) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) cwcLike(req, res);
      }, 5_000);
      timers.add(timer);
    };
    const started = Date.now();

    const result = await channel({ timeoutMs: 200 }).send(letter());

    expect(result).toEqual({ outcome: 'retry', error: 'CWC did not answer within 200 ms' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expectSafe(result);
  });

  it('treats an endpoint that cannot be reached as a retry', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const result = await channel({}, `http://127.0.0.1:${port}/v2/message`).send(letter());

    expect(result).toEqual({ outcome: 'retry', error: 'CWC could not be reached (ECONNREFUSED)' });
    expectSafe(result);
  });

  it('does not follow a redirect, which would carry the API key elsewhere', async () => {
    handler = (req, res) => {
      if (req.url.pathname === '/elsewhere') return cwcLike(req, res);
      res.writeHead(307, { location: `${baseUrl}/elsewhere` }).end();
    };

    const result = await channel().send(letter());

    expect(result).toEqual({ outcome: 'failed', error: expect.stringContaining('HTTP 307') });
    expect(received.map((request) => request.url.pathname)).toEqual(['/v2/message']);
    expectSafe(result);
  });

  it('does not post a document that fails its check, and names the elements but not their values', async () => {
    const result = await channel().send(
      letter({ constituent: { ...letter().constituent, zip: '941', state: 'Calif' } }),
    );

    expect(result).toEqual({
      outcome: 'failed',
      error:
        'not sent: the CWC document fails its check: CWC/Constituent/StateAbbreviation must be a two-letter USPS state code; CWC/Constituent/Zip must be a 5-digit ZIP code',
    });
    expect(received).toHaveLength(0);
    expectSafe(result);
  });

  it('never guesses an honorific: a letter without one is not sent', async () => {
    const result = await channel().send(
      letter({ constituent: { ...letter().constituent, prefix: undefined } }),
    );

    expect(result).toEqual({
      outcome: 'failed',
      error: 'not sent: the CWC document fails its check: CWC/Constituent/Prefix is required',
    });
    expect(received).toHaveLength(0);
  });

  it('refuses settings it cannot work with, without naming the key', () => {
    expect(() => new CwcChannel({ ...settings('ftp://cwc.example/'), apiKey: API_KEY })).toThrow(
      /url must be an http\(s\) URL/,
    );
    expect(() => new CwcChannel({ ...settings(endpoint), apiKey: ' ' })).toThrow(/apiKey/);
    expect(
      () => new CwcChannel({ ...settings(endpoint), organization: '', campaignId: '' }),
    ).toThrow(/organization, campaignId/);
    const thrown = (() => {
      try {
        new CwcChannel({ ...settings(`not a url?apikey=${API_KEY}`) });
      } catch (error) {
        return error as Error;
      }
    })();
    expect(thrown).toBeInstanceOf(TypeError);
    expect(thrown?.message).not.toContain(API_KEY);
  });
});
