import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  applySupporterEdits,
  cleanMergeValue,
  compileLetterTemplates,
  headerFieldError,
  levelOf,
  loadLetterTemplates,
  validateLetterTemplate,
  type LetterContext,
  type LetterTemplate,
  type RenderedLetter,
  type TargetLevel,
} from '../../src/letters/templates';

const LEVELS: TargetLevel[] = ['federal', 'state', 'local'];
const HTML_ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/i;
const CONTROL_EXCEPT_LF = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

const target = { title: 'Senator', name: 'Jane Doe', office: 'U.S. Senator, IL' };
const full: LetterContext = {
  supporter: {
    name: 'Maria Lopez',
    city: 'Springfield',
    state: 'IL',
    zip: '62701',
    note: 'My nephew was stopped after a camera "matched" him.\nIt was not him.',
  },
  target: { ...target, district: 'District 7' },
  campaign: { title: 'Ban Face Surveillance' },
};
const minimal: LetterContext = {
  supporter: { name: 'Sam Park', state: 'IL', zip: '62701' },
  target,
  campaign: { title: 'Ban Face Surveillance' },
};

const wordCount = (text: string) => text.split(/\s+/).filter(Boolean).length;
const renderer = () => compileLetterTemplates(loadLetterTemplates());

/** A compiled set where every level uses the given subject and body. */
function renderWith(
  subject: string,
  body: string,
  context: LetterContext = minimal,
): RenderedLetter {
  const source: LetterTemplate = { subject, body };
  return compileLetterTemplates({ federal: source, state: source, local: source }).render(
    'federal',
    context,
  );
}

describe('the shipped letter templates', () => {
  it('load and validate for every level', () => {
    const sources = loadLetterTemplates();
    for (const level of LEVELS) {
      expect(validateLetterTemplate(sources[level].subject)).toBeNull();
      expect(validateLetterTemplate(sources[level].body)).toBeNull();
    }
  });

  it.each(LEVELS)('render a %s letter for a full supporter', (level) => {
    const letter = renderer().render(level, full);
    expect(letter.body).toContain('Dear Senator Jane Doe,');
    expect(letter.body).toContain('Senator Jane Doe\nU.S. Senator, IL\n');
    expect(letter.body).toContain(
      `My nephew was stopped after a camera "matched" him.\nIt was not him.`,
    );
    expect(letter.body).toContain('Ban Face Surveillance');
    expect(letter.body.endsWith('Maria Lopez\nSpringfield, IL 62701')).toBe(true);
    expect(letter.subject).toContain('Springfield');
    for (const text of [letter.subject, letter.body]) {
      expect(text).not.toContain('{{');
      expect(text).not.toContain('}}');
      expect(text).not.toMatch(HTML_ENTITY);
      expect(text).not.toMatch(CONTROL_EXCEPT_LF);
    }
    expect(letter.subject).not.toMatch(/[\r\n]/);
  });

  it.each(LEVELS)(
    'render a %s letter of 120 to 220 words for a minimal supporter (no note, no city)',
    (level) => {
      const letter = renderer().render(level, minimal);
      expect(letter.body).toContain('Dear Senator Jane Doe,');
      expect(letter.body.endsWith('Sam Park\nIL 62701')).toBe(true);
      expect(letter.body).not.toMatch(/undefined|null/);
      expect(letter.body).not.toMatch(/^[ ,]/m);
      expect(letter.body).not.toMatch(/\n{3}/);
      expect(letter.body).not.toContain('{{');
      expect(wordCount(letter.body)).toBeGreaterThanOrEqual(120);
      expect(wordCount(letter.body)).toBeLessThanOrEqual(220);
      expect(letter.subject).not.toMatch(/ in :|of :|[\r\n]/);
      expect(letter.body.split('\n')[1]).toBe('U.S. Senator, IL');
    },
  );

  it('sign with the ZIP alone when neither city nor state is known', () => {
    const letter = renderer().render('local', {
      ...minimal,
      supporter: { name: 'Sam Park', zip: '62701' },
    });
    expect(letter.body.endsWith('Sam Park\n62701')).toBe(true);
  });

  it('write the subject differently per level', () => {
    const subjects = LEVELS.map((level) => renderer().render(level, full).subject);
    expect(new Set(subjects).size).toBe(3);
    expect(subjects[0]).toMatch(/federal ban/);
    expect(subjects[1]).toMatch(/statewide ban/);
    expect(subjects[2]).toMatch(/ordinance/);
  });
});

describe('merge values', () => {
  it('come out verbatim in plain text, without HTML entities', () => {
    const context: LetterContext = {
      ...minimal,
      supporter: { ...minimal.supporter, name: `O'Brien & Sons <x>`, city: "Coeur d'Alene" },
      campaign: { title: '"Stop" <b>Face</b> Surveillance & Co' },
    };
    for (const level of LEVELS) {
      const letter = renderer().render(level, context);
      expect(letter.body).toContain(`O'Brien & Sons <x>\nCoeur d'Alene, IL 62701`);
      expect(letter.body).toContain('"Stop" <b>Face</b> Surveillance & Co');
      expect(letter.subject).toContain(`Coeur d'Alene`);
      expect(`${letter.subject}\n${letter.body}`).not.toMatch(HTML_ENTITY);
    }
  });

  it('are not evaluated as templates themselves', () => {
    const context = { ...minimal, supporter: { name: '{{campaign.title}}', zip: '1' } };
    const letter = renderWith('{{supporter.name}}', '{{supporter.name}}', context);
    expect(letter).toEqual({ subject: '{{campaign.title}}', body: '{{campaign.title}}' });
  });

  it('lose control characters, and one-line fields lose line breaks', () => {
    const context: LetterContext = {
      supporter: {
        name: 'Ann\u0000 Lee\u0007\r\nBcc: victim@example.org',
        city: 'Spring\u009bfield\t',
        state: ' IL ',
        zip: '62701\u001b',
        note: 'Line one\u001b[31m\r\nLine two\u0085Line three\u0000',
      },
      target: {
        title: 'Senator\u200b',
        name: 'Jane\nDoe',
        office: 'U.S. Senator',
        district: '\u0000',
      },
      campaign: { title: 'Ban\u007f Face Surveillance' },
    };
    for (const level of LEVELS) {
      const letter = renderer().render(level, context);
      expect(letter.body).not.toMatch(CONTROL_EXCEPT_LF);
      expect(letter.body).not.toContain('\r');
      expect(letter.body).not.toMatch(/^Bcc:/m);
      expect(letter.body).toContain('Ann Lee Bcc: victim@example.org\nSpringfield, IL 62701');
      expect(letter.body).toContain('Line one[31m\nLine two\nLine three');
      expect(letter.body).toContain('Dear Senator\u200b Jane Doe,');
      expect(letter.body).toContain('U.S. Senator\n');
      expect(letter.body).toContain('Ban Face Surveillance');
      expect(letter.subject).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    }
  });

  it('are cleaned and capped by cleanMergeValue', () => {
    expect(cleanMergeValue('  Ann \t\n  Lee  ', 'supporter.name')).toBe('Ann Lee');
    expect(cleanMergeValue(undefined, 'supporter.city')).toBe('');
    expect(cleanMergeValue(null, 'supporter.city')).toBe('');
    expect(cleanMergeValue('a'.repeat(150), 'supporter.name')).toHaveLength(100);
    expect(cleanMergeValue('b'.repeat(150), 'supporter.city')).toHaveLength(100);
    expect(cleanMergeValue('c'.repeat(1500), 'supporter.note')).toHaveLength(1000);
    // Capped in characters, not UTF-16 units: no half emoji at the end.
    expect(Array.from(cleanMergeValue('😀'.repeat(120), 'supporter.name'))).toEqual(
      Array(100).fill('😀'),
    );
    expect(
      cleanMergeValue('first  line   \r\n\r\n\r\n\r\nsecond\tline\u0000', 'supporter.note'),
    ).toBe('first  line\n\nsecond line');
  });
});

describe('the rendered subject and body', () => {
  it('give a one-line subject of at most 200 characters', () => {
    const letter = renderWith(
      'Re:\r\n{{supporter.city}}\n\n  {{campaign.title}} {{campaign.title}}',
      'x',
      {
        ...minimal,
        supporter: { ...minimal.supporter, city: 'New\nYork' },
        campaign: { title: 'c'.repeat(200) },
      },
    );
    expect(letter.subject).not.toMatch(/[\r\n]/);
    expect(letter.subject.startsWith('Re: New York cc')).toBe(true);
    expect(letter.subject).toHaveLength(200);
  });

  it('normalise line endings, trailing spaces and runs of blank lines in the body', () => {
    const letter = renderWith(
      's',
      '\r\n\r\nDear {{target.name}},   \r\n\r\n\r\n\r\n\r\n\r\n\r\nText\u0007 here\t\r\nBye  \n\n',
    );
    expect(letter.body).toBe('Dear Jane Doe,\n\n\n\nText here\nBye');
  });
});

describe('headerFieldError', () => {
  const breaks = [
    'Ann\r\nBcc: victim@example.org',
    'Ann\nLee',
    'Ann\rLee',
    'Ann\u2028Lee',
    'Ann\u0085Lee',
  ];
  it.each(breaks)('rejects the line break in %j', (name) => {
    expect(headerFieldError(name, 'name')).toBe('Please remove line breaks from your name.');
  });

  it('rejects other control characters, in the subject too', () => {
    expect(headerFieldError('Ann\u0000Lee', 'name')).toMatch(/control characters from your name/);
    expect(headerFieldError('Please\tact', 'subject')).toMatch(/from the subject/);
    expect(headerFieldError('Please act\n', 'subject')).toBe(
      'Please remove line breaks from the subject.',
    );
  });

  it('accepts ordinary names and subjects, whatever their punctuation', () => {
    for (const value of [
      `O'Brien & Sons <x>`,
      'José Ñúñez-García',
      '李小龙',
      'Please act: ban face surveillance!',
    ]) {
      expect(headerFieldError(value, 'name')).toBeNull();
    }
  });
});

describe('validateLetterTemplate', () => {
  it('accepts merge fields, #if/else, comments and whitespace control', () => {
    const ok = [
      'Dear {{target.title}} {{target.name}},',
      '{{#if supporter.note}}{{supporter.note}}{{else}}No note.{{/if}}',
      '{{#if supporter.city}}{{supporter.city}}{{else if supporter.state}}{{supporter.state}}{{/if}}',
      '{{! a note for staff }}{{~ supporter.name ~}}',
      '{{{supporter.name}}}',
      'Plain text with { single } braces.',
    ];
    for (const source of ok) expect(validateLetterTemplate(source)).toBeNull();
  });

  it('reports a syntax error with its line', () => {
    expect(
      validateLetterTemplate('Dear {{target.name}},\n{{#if supporter.note}}\n{{supporter.note}}'),
    ).toMatch(/^Syntax error on line 3/);
    expect(validateLetterTemplate('{{supporter.name')).toMatch(/^Syntax error on line 1/);
    expect(validateLetterTemplate('{{#if supporter.note}}x{{/iff}}')).toMatch(
      /^Syntax error on line 1/,
    );
  });

  it('reports an unknown merge field, with a suggestion for a typo', () => {
    expect(validateLetterTemplate('Dear {{target.name}},\n\n{{supporter.nmae}}')).toMatch(
      /^Line 3: unknown merge field \{\{supporter\.nmae\}\}\. Did you mean \{\{supporter\.name\}\}\?/,
    );
    expect(validateLetterTemplate('{{supporter.email}}')).toMatch(/unknown merge field/);
    expect(validateLetterTemplate('{{supporter}}')).toMatch(/unknown merge field/);
    expect(validateLetterTemplate('{{#if supporter.notes}}x{{/if}}')).toMatch(
      /unknown merge field \{\{supporter\.notes\}\}/,
    );
  });

  it('rejects helpers, partials, other blocks and paths outside the merge fields', () => {
    const rejected: Array<[string, RegExp]> = [
      ['{{lookup x}}', /calls a helper/],
      ['{{lookup supporter "name"}}', /calls a helper/],
      ['{{supporter.name "x"}}', /calls a helper/],
      ['{{supporter.name x=1}}', /calls a helper/],
      ['{{log supporter.name}}', /calls a helper/],
      ['{{> partial}}', /partials/],
      ['{{#> layout}}x{{/layout}}', /partials/],
      ['{{#each supporter}}{{this}}{{/each}}', /\{\{#each\}\} blocks are not allowed/],
      ['{{#with supporter}}{{name}}{{/with}}', /\{\{#with\}\} blocks are not allowed/],
      ['{{#unless supporter.note}}x{{/unless}}', /blocks are not allowed/],
      ['{{#supporter.note}}x{{/supporter.note}}', /blocks are not allowed/],
      ['{{{{raw}}}}x{{{{/raw}}}}', /blocks are not allowed/],
      ['{{#*inline "p"}}x{{/inline}}', /decorators/],
      ['{{#if supporter.note supporter.name}}x{{/if}}', /exactly one merge field/],
      ['{{#if (lookup supporter "note")}}x{{/if}}', /calls a helper/],
      ['{{@root.supporter.name}}', /unknown merge field/],
      ['{{../supporter.name}}', /unknown merge field/],
      ['{{[supporter.name]}}', /plain merge field/],
      ['{{supporter.name.length}}', /unknown merge field/],
      ['{{constructor.name}}', /unknown merge field/],
      ['\\{{supporter.name}}', /stray braces/],
      ['Dear {supporter.name}},', /stray braces/],
    ];
    for (const [source, message] of rejected) {
      expect([source, validateLetterTemplate(source)]).toEqual([
        source,
        expect.stringMatching(message),
      ]);
    }
  });
});

describe('compileLetterTemplates and loadLetterTemplates', () => {
  it('refuse an invalid template, naming the level and part', () => {
    const good = { subject: 'Hello', body: 'Dear {{target.name}},' };
    expect(() =>
      compileLetterTemplates({
        federal: good,
        state: { ...good, body: '{{supporter.nmae}}' },
        local: good,
      }),
    ).toThrow(/The state letter body template is invalid: Line 1: unknown merge field/);
  });

  it('name a missing template file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'letters-'));
    try {
      for (const level of LEVELS) {
        writeFileSync(path.join(dir, `${level}.subject.hbs`), 'Subject');
        if (level !== 'state') writeFileSync(path.join(dir, `${level}.body.hbs`), 'Body');
      }
      expect(() => loadLetterTemplates(dir)).toThrow(/Letter template state\.body\.hbs is missing/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('applySupporterEdits', () => {
  const rendered: RenderedLetter = {
    subject: 'Please ban face surveillance',
    body: 'Dear Senator Jane Doe,\n\nPlease act.\n\nSincerely,\nSam Park',
  };
  const limits = { subjectMax: 60, bodyMax: 200 };

  it('keeps the rendered letter when nothing was edited', () => {
    expect(applySupporterEdits(rendered, {}, limits)).toEqual({ ok: true, letter: rendered });
  });

  it('takes the edited subject and body, cleaned', () => {
    const result = applySupporterEdits(
      rendered,
      { subject: '  Ban   it  ', body: 'Dear Senator,  \r\n\r\nMy words.\u0007\r\n' },
      limits,
    );
    expect(result).toEqual({
      ok: true,
      letter: { subject: 'Ban it', body: 'Dear Senator,\n\nMy words.' },
    });
  });

  it('enforces the lengths, and refuses an empty subject or body', () => {
    expect(
      applySupporterEdits(rendered, { subject: 's'.repeat(61), body: 'b'.repeat(201) }, limits),
    ).toEqual({
      ok: false,
      errors: {
        subject: 'Please shorten the subject to 60 characters or fewer (it has 61).',
        body: 'Please shorten the letter to 200 characters or fewer (it has 201).',
      },
    });
    expect(
      applySupporterEdits(rendered, { subject: 's'.repeat(60), body: 'b'.repeat(200) }, limits).ok,
    ).toBe(true);
    expect(applySupporterEdits(rendered, { subject: '   ', body: '\n\n' }, limits)).toEqual({
      ok: false,
      errors: {
        subject: 'Please write a subject.',
        body: 'Please write your letter before sending it.',
      },
    });
  });

  it('refuses a line break in the subject rather than joining the lines', () => {
    const result = applySupporterEdits(
      rendered,
      { subject: 'Hello\r\nBcc: victim@example.org' },
      limits,
    );
    expect(result).toEqual({
      ok: false,
      errors: { subject: 'Please remove line breaks from the subject.' },
    });
  });

  it('requires the locked opening and closing lines', () => {
    const locked = {
      ...limits,
      lockedOpening: 'Dear Senator Jane Doe,',
      lockedClosing: 'Sincerely,\nSam Park',
    };
    const edited =
      '\n  Dear Senator Jane Doe,\r\n\r\nMy own words.\r\n\r\nSincerely,\r\nSam Park  \n';
    expect(applySupporterEdits(rendered, { body: edited }, locked)).toEqual({
      ok: true,
      letter: {
        subject: rendered.subject,
        body: 'Dear Senator Jane Doe,\n\nMy own words.\n\nSincerely,\nSam Park',
      },
    });
    const opening = applySupporterEdits(
      rendered,
      { body: 'Hi Jane,\n\nMy words.\n\nSincerely,\nSam Park' },
      locked,
    );
    expect(opening).toEqual({
      ok: false,
      errors: { body: `Please keep the letter's first line: "Dear Senator Jane Doe,"` },
    });
    const closing = applySupporterEdits(
      rendered,
      { body: 'Dear Senator Jane Doe,\n\nMy words.\n\nBye' },
      locked,
    );
    expect(closing).toEqual({
      ok: false,
      errors: { body: `Please keep the letter's closing lines: "Sincerely,\nSam Park"` },
    });
    const both = applySupporterEdits(
      rendered,
      { body: 'My words.' },
      { ...locked, lockedClosing: 'Sincerely,' },
    );
    expect(both).toEqual({
      ok: false,
      errors: {
        body: `Please keep the letter's first line: "Dear Senator Jane Doe," Please keep the letter's last line: "Sincerely,"`,
      },
    });
  });
});

describe('levelOf', () => {
  it.each([
    ['us-house', 'federal'],
    ['us-senate', 'federal'],
    ['state-upper', 'state'],
    ['state-lower', 'state'],
    ['governor', 'state'],
    ['custom', 'local'],
  ] as const)('%s letters are %s', (office, level) => {
    expect(levelOf(office)).toBe(level);
  });
});
