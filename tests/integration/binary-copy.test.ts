import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { BinaryCopyRows, type BinaryField } from '../../src/db/binary-copy';
import { testDatabaseUrl } from '../helpers/services';

/**
 * BinaryCopyRows reads PostgreSQL's own binary COPY output, cut into chunks anywhere, and finds
 * every row and field exactly: bytes of every value, line breaks, quotes, NULLs and empty text.
 */

let output: Buffer;

const QUERY = `SELECT * FROM (VALUES
    (1, 'plain', '\\x00ff0a0d2c22'::bytea),
    (2, E'line\\nbreak, "quoted", zoë', ''::bytea),
    (3, '', NULL),
    (4, NULL, '\\x'::bytea || decode(repeat('ab', 300), 'hex'))
  ) AS v(n, words, raw) ORDER BY n`;

beforeAll(async () => {
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    const copy = client.query(
      copyTo(`COPY (SELECT n::text, words, raw FROM (${QUERY}) q) TO STDOUT WITH (FORMAT binary)`),
    );
    const chunks: Buffer[] = [];
    copy.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise((resolve, reject) => copy.on('end', resolve).on('error', reject));
    output = Buffer.concat(chunks);
  } finally {
    await client.end();
  }
});

/** Each row as `n|words|raw in hex`, with NULL shown as ∅. */
const describeRow = (fields: BinaryField[]) =>
  `${fields.map((field, index) => (field === null ? '∅' : index === 2 ? field.toString('hex') : field.toString('utf8'))).join('|')}\n`;

const expected = [
  '1|plain|00ff0a0d2c22',
  '2|line\nbreak, "quoted", zoë|',
  '3||∅',
  `4|∅|${'ab'.repeat(300)}`,
]
  .map((row) => `${row}\n`)
  .join('');

async function read(chunks: Buffer[]): Promise<string> {
  return text(Readable.from(chunks).pipe(new BinaryCopyRows(describeRow, 'header\n')));
}

it('reads every row and field, whole or cut into chunks at any byte', async () => {
  expect(await read([output])).toBe(`header\n${expected}`);
  for (let cut = 1; cut < output.length; cut++)
    expect(await read([output.subarray(0, cut), output.subarray(cut)])).toBe(`header\n${expected}`);
  expect(await read([...output].map((byte) => Buffer.of(byte)))).toBe(`header\n${expected}`);
});

it('fails on output cut short, or not from a binary COPY, rather than losing rows quietly', async () => {
  await expect(read([output.subarray(0, output.length - 10)])).rejects.toThrow(
    'the COPY output ended in the middle of a row',
  );
  await expect(read([Buffer.from('name,email\nAda,ada@example.org\n')])).rejects.toThrow(
    'not the output of a binary COPY',
  );
});

it('passes an error while rendering a row on to the stream', async () => {
  const failing = new BinaryCopyRows(() => {
    throw new Error('cannot open this value');
  });
  await expect(
    pipeline(Readable.from([output]), failing, async function* (source) {
      for await (const chunk of source) yield chunk;
    }),
  ).rejects.toThrow('cannot open this value');
});
