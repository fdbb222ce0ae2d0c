import { inflateSync } from 'node:zlib';

/**
 * Reading the text of the PDFs the platform writes (pdfkit, built-in fonts, WinAnsi encoding),
 * without a PDF library: each content stream (inflated when compressed) and, in it, each text
 * line pdfkit shows (`[<hex> kerning <hex> …] TJ`), decoded.
 */

/** WinAnsi's bytes 0x80–0x9f that are not Latin-1. */
const WIN_ANSI: Record<number, string> = {
  0x91: '‘',
  0x92: '’',
  0x93: '“',
  0x94: '”',
  0x96: '–',
  0x97: '—',
  0x85: '…',
  0x80: '€',
  0x95: '•',
};

const decode = (hex: string) =>
  (hex.match(/../g) ?? [])
    .map((pair) => {
      const code = Number.parseInt(pair, 16);
      return WIN_ANSI[code] ?? String.fromCharCode(code);
    })
    .join('');

/** The text lines of each content stream of the PDF, in order: one array per page (or form). */
export function pdfPages(pdf: Buffer): string[][] {
  const pages: string[][] = [];
  let at = 0;
  for (;;) {
    const start = pdf.indexOf('stream\n', at);
    if (start === -1) break;
    const end = pdf.indexOf('\nendstream', start);
    if (end === -1) break;
    const dictionary = pdf.subarray(Math.max(0, start - 300), start).toString('latin1');
    const raw = pdf.subarray(start + 'stream\n'.length, end);
    at = end + '\nendstream'.length;
    let content: string;
    try {
      content = (
        dictionary.lastIndexOf('/FlateDecode') > dictionary.lastIndexOf('obj')
          ? inflateSync(raw)
          : raw
      ).toString('latin1');
    } catch {
      continue;
    }
    const lines = [...content.matchAll(/\[((?:<[0-9a-f]*>\s*-?[\d.]*\s*)+)\]\s*TJ/g)].map((match) =>
      [...match[1]!.matchAll(/<([0-9a-f]*)>/g)].map((hex) => decode(hex[1]!)).join(''),
    );
    if (lines.length > 0) pages.push(lines);
  }
  return pages;
}

/** All the PDF's text, a line per shown line. */
export const pdfText = (pdf: Buffer) => pdfPages(pdf).flat().join('\n');
