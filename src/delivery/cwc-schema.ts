import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { isStateCode } from '../representatives/us-states';

/**
 * The CWC 2.0 document as Communicating with Congress accepts it, written down as data: which
 * elements, in which order, how often, and what their text may be. `checkCwcDocument` holds a
 * document to it before anything is sent (a document that fails is never sent: its letter fails
 * with the problems found), and the tests' stand-in CWC server answers with the same check.
 *
 * Everything we know about the format lives here, so that a correction is made in one place.
 */

/** What an element's text may be: a test and the words for what it expects (never the value). */
interface ValueRule {
  expects: string;
  test: (text: string) => boolean;
}

interface ElementRule {
  name: string;
  /** How often it may appear where it appears: [min, max]; once by default. */
  occurs?: readonly [number, number];
  /** An element of elements, in this order; or, without children, a text element with `value`. */
  children?: readonly ElementRule[];
  value?: ValueRule;
}

/** The honorifics CWC takes in `Prefix`: a constituent's must be one of these, exactly. */
export const CWC_PREFIXES = [
  'Mr.',
  'Mrs.',
  'Ms.',
  'Mr. and Mrs.',
  'Miss',
  'Dr.',
  'Dr. and Mrs.',
  'Dr. and Mr.',
  'Admiral',
  'Captain',
  'Chief Master Sergeant',
  'Colonel',
  'Commander',
  'Corporal',
  'Father',
  'Lieutenant',
  'Lieutenant Colonel',
  'Master Sergeant',
  'Reverend',
  'Sergeant',
  'Second Lieutenant',
  'Sergeant Major',
  'Sister',
  'Technical Sergeant',
] as const;

export type CwcPrefix = (typeof CWC_PREFIXES)[number];

/** The Library of Congress policy areas, the 32 values of `LibraryOfCongressTopic`. */
export const LIBRARY_OF_CONGRESS_TOPICS = [
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
  'Social Sciences and History',
  'Social Welfare',
  'Sports and Recreation',
  'Taxation',
  'Transportation and Public Works',
  'Water Resources Development',
] as const;

export const SUBJECT_MAX_LENGTH = 250;
export const MESSAGE_MAX_LENGTH = 10_000;
/** Our own cap for every other text, well above any real name or address. */
export const FIELD_MAX_LENGTH = 200;

/** Length in characters (code points), as a person counts them. */
const length = (text: string) => [...text].length;

const text = (max = FIELD_MAX_LENGTH): ValueRule => ({
  expects: `text of 1 to ${max.toLocaleString('en-US')} characters`,
  test: (value) => value.trim() !== '' && length(value) <= max,
});
const pattern = (regex: RegExp, expects: string): ValueRule => ({
  expects,
  test: (value) => regex.test(value),
});
const oneOf = (values: readonly string[], expects: string): ValueRule => {
  const set = new Set(values);
  return { expects, test: (value) => set.has(value) };
};

const EMAIL: ValueRule = pattern(/^[^\s@<>]{1,64}@[^\s@<>]+\.[^\s@<>]{2,}$/, 'an email address');
const PHONE: ValueRule = pattern(/^\d{3}-\d{3}-\d{4}$/, 'a phone number written xxx-xxx-xxxx');
const YES_NO: ValueRule = oneOf(['Y', 'N'], 'Y or N');
const DATE: ValueRule = {
  expects: 'a date written YYYYMMDD',
  test: (value) => {
    const match = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
    if (!match) return false;
    const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
    const date = new Date(Date.UTC(year, month - 1, day));
    return (
      date.getUTCFullYear() === year &&
      date.getUTCMonth() === month - 1 &&
      date.getUTCDate() === day
    );
  },
};
/** `H` or `S`, a USPS state code, two digits: `HCA12` (a House district), `SCA01` (a Senate seat, by class). */
const MEMBER_OFFICE: ValueRule = {
  expects: 'an office code: H or S, a state code and two digits (HCA12, SCA01)',
  test: (value) => /^[HS][A-Z]{2}\d{2}$/.test(value) && isStateCode(value.slice(1, 3)),
};
const STATE: ValueRule = {
  expects: 'a two-letter USPS state code',
  test: (value) => /^[A-Z]{2}$/.test(value) && isStateCode(value),
};

const optional = (rule: ElementRule): ElementRule => ({ ...rule, occurs: [0, 1] });

/** CWC 2.0, element by element. */
export const CWC_DOCUMENT: ElementRule = {
  name: 'CWC',
  children: [
    { name: 'CWCVersion', value: oneOf(['2.0'], '2.0') },
    {
      name: 'Delivery',
      children: [
        { name: 'DeliveryId', value: pattern(/^[A-Za-z0-9]{32}$/, '32 letters and digits') },
        { name: 'DeliveryDate', value: DATE },
        { name: 'DeliveryAgent', value: text() },
        { name: 'DeliveryAgentAckEmailAddress', value: EMAIL },
        {
          name: 'DeliveryAgentContact',
          children: [
            { name: 'DeliveryAgentContactName', value: text() },
            { name: 'DeliveryAgentContactEmail', value: EMAIL },
            { name: 'DeliveryAgentContactPhone', value: PHONE },
          ],
        },
        optional({ name: 'Organization', value: text() }),
        optional({
          name: 'OrganizationContact',
          children: [
            optional({ name: 'OrganizationContactName', value: text() }),
            optional({ name: 'OrganizationContactEmail', value: EMAIL }),
            optional({ name: 'OrganizationContactPhone', value: PHONE }),
          ],
        }),
        optional({ name: 'OrganizationAbout', value: text(MESSAGE_MAX_LENGTH) }),
        { name: 'CampaignId', value: text(100) },
      ],
    },
    {
      name: 'Recipient',
      children: [
        { name: 'MemberOffice', value: MEMBER_OFFICE },
        optional({ name: 'IsResponseRequested', value: YES_NO }),
        optional({ name: 'NewsletterOptIn', value: YES_NO }),
      ],
    },
    {
      name: 'Constituent',
      children: [
        {
          name: 'Prefix',
          value: oneOf(
            CWC_PREFIXES,
            `one of CWC's honorifics (${CWC_PREFIXES.slice(0, 4).join(', ')}, …)`,
          ),
        },
        { name: 'FirstName', value: text() },
        optional({ name: 'MiddleName', value: text() }),
        { name: 'LastName', value: text() },
        optional({ name: 'Suffix', value: text(20) }),
        optional({ name: 'Title', value: text() }),
        optional({ name: 'ConstituentOrganization', value: text() }),
        { name: 'Address1', value: text() },
        optional({ name: 'Address2', value: text() }),
        optional({ name: 'Address3', value: text() }),
        { name: 'City', value: text() },
        { name: 'StateAbbreviation', value: STATE },
        { name: 'Zip', value: pattern(/^\d{5}$/, 'a 5-digit ZIP code') },
        optional({ name: 'Phone', value: PHONE }),
        optional({ name: 'AddressValidation', value: YES_NO }),
        { name: 'Email', value: EMAIL },
        optional({ name: 'EmailValidation', value: YES_NO }),
      ],
    },
    {
      name: 'Message',
      children: [
        { name: 'Subject', value: text(SUBJECT_MAX_LENGTH) },
        {
          name: 'LibraryOfCongressTopics',
          children: [
            {
              name: 'LibraryOfCongressTopic',
              occurs: [1, 3],
              value: oneOf(LIBRARY_OF_CONGRESS_TOPICS, 'a Library of Congress policy area'),
            },
          ],
        },
        {
          name: 'Bill',
          occurs: [0, 20],
          children: [
            optional({ name: 'BillCongress', value: pattern(/^\d{1,3}$/, 'a Congress number') }),
            {
              name: 'BillTypeAbbreviation',
              value: pattern(/^[A-Za-z.]{1,10}$/, 'a bill type like HR or S'),
            },
            { name: 'BillNumber', value: pattern(/^\d{1,5}$/, 'a bill number') },
          ],
        },
        optional({ name: 'ProOrCon', value: oneOf(['Pro', 'Con'], 'Pro or Con') }),
        optional({ name: 'OrganizationStatement', value: text(MESSAGE_MAX_LENGTH) }),
        optional({ name: 'ConstituentMessage', value: text(MESSAGE_MAX_LENGTH) }),
        optional({ name: 'MoreInfo', value: pattern(/^https?:\/\/\S{1,500}$/, 'a web address') }),
      ],
    },
  ],
};

/** A problem with a document: where (`Constituent/Zip`) and what was expected, never the value found. */
export interface CwcProblem {
  path: string;
  problem: string;
}

type ParsedNode = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  ignoreAttributes: false,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
});

/** The element name of a parsed node (its one key other than attributes), or `#text`. */
const nodeName = (node: ParsedNode) => Object.keys(node).find((key) => key !== ':@') ?? '';

/** Checks a whole document against CWC_DOCUMENT: every problem found, or none. */
export function checkCwcDocument(xml: string): CwcProblem[] {
  const wellFormed = XMLValidator.validate(xml);
  if (wellFormed !== true)
    return [{ path: '', problem: `not well-formed XML (line ${wellFormed.err.line})` }];
  if (/<!DOCTYPE|<!ENTITY/i.test(xml))
    return [{ path: '', problem: 'a document type declaration is not allowed' }];
  const nodes = (parser.parse(xml) as ParsedNode[]).filter(
    (node) => nodeName(node) !== '#text' || String(node['#text']).trim() !== '',
  );
  if (nodes.length !== 1 || nodeName(nodes[0]!) !== CWC_DOCUMENT.name)
    return [{ path: '', problem: 'the document must have one CWC element' }];
  const problems: CwcProblem[] = [];
  checkElement(CWC_DOCUMENT, nodes[0]!, CWC_DOCUMENT.name, problems);
  return problems;
}

function checkElement(
  rule: ElementRule,
  node: ParsedNode,
  path: string,
  problems: CwcProblem[],
): void {
  if (node[':@'] !== undefined) problems.push({ path, problem: 'attributes are not allowed' });
  const content = (node[rule.name] ?? []) as ParsedNode[];
  const texts = content.filter((child) => nodeName(child) === '#text');
  const elements = content.filter((child) => nodeName(child) !== '#text');

  if (!rule.children) {
    if (elements.length > 0) problems.push({ path, problem: 'must hold text, not elements' });
    const value = texts.map((child) => String(child['#text'])).join('');
    if (rule.value && !rule.value.test(value))
      problems.push({ path, problem: `must be ${rule.value.expects}` });
    return;
  }
  if (texts.length > 0) problems.push({ path, problem: 'must hold elements, not text' });

  // Children in the rules' order: each rule takes the run of elements with its name, between its min and max.
  let next = 0;
  for (const child of rule.children) {
    const [min, max] = child.occurs ?? [1, 1];
    let count = 0;
    while (next < elements.length && nodeName(elements[next]!) === child.name) {
      count++;
      if (count <= max) checkElement(child, elements[next]!, `${path}/${child.name}`, problems);
      next++;
    }
    if (count < min)
      problems.push({
        path: `${path}/${child.name}`,
        problem: min === 1 ? 'is required' : `must appear at least ${min} times`,
      });
    if (count > max)
      problems.push({
        path: `${path}/${child.name}`,
        problem: max === 1 ? 'must appear once' : `must appear at most ${max} times`,
      });
  }
  if (next < elements.length) {
    const name = nodeName(elements[next]!);
    const known = rule.children.some((child) => child.name === name);
    problems.push({
      path: `${path}/${name}`,
      problem: known ? 'is out of order' : 'is not an element of CWC 2.0 here',
    });
  }
  if (
    rule.name === 'Message' &&
    !elements.some((child) =>
      ['OrganizationStatement', 'ConstituentMessage'].includes(nodeName(child)),
    )
  ) {
    problems.push({ path, problem: 'needs a ConstituentMessage or an OrganizationStatement' });
  }
}

/** The problems in one line each, as a letter's failure reason. */
export const describeProblems = (problems: CwcProblem[]): string =>
  problems.map((p) => (p.path ? `${p.path} ${p.problem}` : p.problem)).join('; ');
