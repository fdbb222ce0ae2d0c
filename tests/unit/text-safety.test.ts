import { signatureInput } from '../../src/petitions/signature-input';
import { fieldErrors } from '../../src/kernel/field-errors';
import { csvCell, neutraliseFormulas, quotedCell } from '../../src/text-safety/csv';
import {
  controlsToSpaces,
  escapeXml,
  headerProblem,
  removeControls,
  removeNotInXml,
} from '../../src/text-safety/characters';
import {
  optionalStaffLine,
  optionalStaffText,
  staffLine,
  staffText,
} from '../../src/text-safety/fields';
import { hiddenFormatting, stripInvisible } from '../../src/text-safety/input';

describe('CSV cells', () => {
  it.each([
    ['=1+2', "'=1+2"],
    ['Ana;=1+2;', "Ana;'=1+2;"],
    ['Bo, +SUM(A1)', "Bo, '+SUM(A1)"],
    ['Cy;"@x";-3', `Cy;"'@x";'-3`],
    ['x;\t=y', "x;'\t=y"],
    ['-2', "'-2"],
    ['Jean-Luc Picard', 'Jean-Luc Picard'],
    ['Ida "B." Wells, Jr.', 'Ida "B." Wells, Jr.'],
    ['2026-12-07T10:00:00Z', '2026-12-07T10:00:00Z'],
    ["'=already", "'=already"],
  ])('%j is written %j', (value, expected) => {
    expect(neutraliseFormulas(value)).toBe(expected);
    // Neutralising twice changes nothing more.
    expect(neutraliseFormulas(neutraliseFormulas(value))).toBe(expected);
  });

  it('quotes every text cell, and writes NULL as nothing', () => {
    expect(csvCell('Ana;=1+2;')).toBe(`"Ana;'=1+2;"`);
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('')).toBe('""');
    expect(csvCell(null)).toBe('');
    expect(quotedCell('80010')).toBe('"80010"');
    expect(quotedCell(null)).toBe('');
  });
});

describe('invisible characters in text people type', () => {
  const LRO = '\u202d';
  const RLO = '\u202e';
  const ZWSP = '\u200b';
  const ZWJ = '\u200d';
  const ZWNJ = '\u200c';

  it('strips what shows nothing and keeps joiners where they join', () => {
    expect(stripInvisible(`${ZWSP}Ada\u2060 Love\ufefflace\u200e`)).toBe('Ada Lovelace');
    // A conjunct in Devanagari (ka, virama, ZWJ, ssa), a Persian word with its non-joiner, an emoji family.
    for (const kept of [`क्${ZWJ}ष`, `می${ZWNJ}خواهم`, `👩${ZWJ}👩${ZWJ}👧`, `👩🏽${ZWJ}💻`])
      expect(stripInvisible(kept)).toBe(kept);
    // At an edge, next to a space or to another joiner, a joiner joins nothing.
    expect(stripInvisible(`${ZWJ}Ada${ZWNJ}`)).toBe('Ada');
    expect(stripInvisible(`Ada ${ZWJ}Lovelace`)).toBe('Ada Lovelace');
    expect(stripInvisible(`A${ZWJ}${ZWJ}b`)).toBe('Ab');
  });

  it('finds direction controls and misplaced invisible characters, but not a joiner in its place', () => {
    for (const hidden of [
      `Ada${RLO}ecalevol`,
      `${LRO}Ada`,
      `Ada\u2066x\u2069`,
      `Ada${ZWSP}`,
      `Ada\u200f`,
      `${ZWJ}Ada`,
    ])
      expect(hiddenFormatting(hidden)).toBe(true);
    for (const plain of ['Ada Lovelace', `क्${ZWJ}ष`, `می${ZWNJ}خواهم`, 'محمد', 'שלום'])
      expect(hiddenFormatting(plain)).toBe(false);
  });

  it("a supporter's name: invisible characters stripped, direction controls refused", () => {
    const sign = (name: string) =>
      signatureInput.safeParse({ name, email: 'ada@example.org', zip: '10001' });
    expect(sign(`${ZWSP} Ada Lovelace\ufeff`).data?.name).toBe('Ada Lovelace');
    expect(sign(`👩${ZWJ}👩${ZWJ}👧 Family`).data?.name).toBe(`👩${ZWJ}👩${ZWJ}👧 Family`);
    const refused = sign(`Ada ${RLO}ecalevoL`);
    expect(fieldErrors(refused.error!)).toEqual({
      name: expect.stringMatching(/text-direction characters/),
    });
    // Only invisible characters: no name at all.
    expect(fieldErrors(sign(`${ZWSP}${ZWSP}`).error!)).toEqual({ name: 'Please enter your name.' });
    expect(
      fieldErrors(
        signatureInput.safeParse({
          name: 'Ada',
          email: 'ada@example.org',
          zip: '10001',
          address: `1 Main St${RLO}`,
        }).error!,
      ),
    ).toEqual({
      address: expect.stringMatching(/text-direction/),
    });
  });
});

describe('characters that cross a boundary', () => {
  it.each([
    ['Ana Lima', null],
    ['Ana\r\nBcc: x@example.org', 'lineBreaks'],
    ['Ana\u2028Lima', 'lineBreaks'],
    ['Ana\u0085Lima', 'lineBreaks'],
    ['Ana\u0000Lima', 'controls'],
    ['Ana\tLima', 'controls'],
    ['Ana\u009bLima', 'controls'],
  ])('a header holding %j: %s', (value, problem) => {
    expect(headerProblem(value)).toBe(problem);
  });

  it('removes controls, keeping line feeds only when asked', () => {
    expect(removeControls('a\u0000b\tc\nd\u007f\u009fe')).toBe('abcde');
    expect(removeControls('a\u0000b\tc\nd', 'lineFeed')).toBe('abc\nd');
  });

  it('turns each run of controls into one space', () => {
    expect(controlsToSpaces('line one\r\n\r\nline two\u2028three')).toBe('line one line two three');
  });

  it('keeps out of XML what XML cannot hold, lone surrogates included, and keeps pairs', () => {
    expect(removeNotInXml('a\u0000\u0008b\tc\nd\r\ufffe\uffff\u0085')).toBe('ab\tc\nd\r');
    expect(removeNotInXml('x\ud83dy\ude00z 😀')).toBe('xyz 😀');
  });

  it('escapes the five markup characters and accepts numbers and nothing', () => {
    expect(escapeXml(`<a href="x">O'Brien & co</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;O&apos;Brien &amp; co&lt;/a&gt;',
    );
    expect(escapeXml(1204)).toBe('1204');
    expect(escapeXml(null)).toBe('');
    expect(escapeXml(undefined)).toBe('');
    expect(escapeXml('a\u0001b')).toBe('ab');
  });
});

describe("the console's text fields", () => {
  const messageOf = (result: {
    success: boolean;
    error?: { issues: Array<{ message: string }> };
  }) => (result.success ? undefined : result.error?.issues[0]?.message);

  it('a line: trimmed, required, one line, no hidden formatting, not too long', () => {
    const title = staffLine('the title', 1000);
    expect(title.parse('  Ban it  ')).toBe('Ban it');
    expect(messageOf(title.safeParse('   '))).toBe('Enter the title.');
    expect(messageOf(title.safeParse('a\nb'))).toBe(
      'Write the title on one line, without invisible control characters.',
    );
    expect(messageOf(title.safeParse('a\u202eb'))).toMatch(/^Remove the invisible formatting/);
    expect(messageOf(title.safeParse('x'.repeat(1001)))).toBe(
      'Shorten the title to 1,000 characters.',
    );
    expect(messageOf(staffLine('the number', 5, 'Enter the bill number.').safeParse(''))).toBe(
      'Enter the bill number.',
    );
  });

  it('a text: line breaks kept as \\n, control characters refused', () => {
    const body = staffText('the script', 100);
    expect(body.parse('Hello\r\nthere\rfriend')).toBe('Hello\nthere\nfriend');
    expect(messageOf(body.safeParse('a\u0000b'))).toBe(
      'Remove invisible control characters from the script.',
    );
  });

  it('optional fields: empty is no value at all', () => {
    expect(optionalStaffLine('the source', 10).parse('')).toBeUndefined();
    expect(optionalStaffLine('the source', 10).parse(undefined)).toBeUndefined();
    expect(optionalStaffText('the note', 10).parse('  ')).toBeUndefined();
    expect(optionalStaffText('the note', 10).parse(' hi ')).toBe('hi');
  });
});
