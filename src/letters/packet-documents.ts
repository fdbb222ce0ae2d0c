import type { Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import PDFDocument from 'pdfkit';
import {
  PACKET_PAGE_LETTERS,
  type AreaCount,
  type PacketCover,
  type PacketSource,
  type PrintedLetter,
} from './hand-packets';

/**
 * A hand-delivery packet as documents to print or hand over: a PDF (pdfkit) and plain text. Both
 * start with a cover page (the office, its postal address, how many letters, from which districts
 * and ZIP areas: counts, never names), then each letter on a page of its own (the date it was
 * written, its subject, its text, which ends with the writer's name).
 *
 * Both are written as the letters are read, PACKET_PAGE_LETTERS at a time, and wait for the
 * destination (a slow download) before reading more: a packet of any size takes the memory of
 * a page of letters and of what the destination has not taken yet.
 */

const dateFormat = new Intl.DateTimeFormat('en-US', { dateStyle: 'long', timeZone: 'UTC' });
/** A day in words ("March 2, 2026"), in UTC, as the dates staff give are days in UTC. */
export const longDate = (date: Date) => dateFormat.format(date);
const dayOf = (day: string) => longDate(new Date(`${day}T12:00:00Z`));
const numberFormat = new Intl.NumberFormat('en-US');

/** The destination went away (the download was cancelled): stop reading. */
export class DocumentAbandonedError extends Error {}

/** How much a document may have written that its destination has not taken, before it waits. */
const AHEAD_BYTES = 256 * 1024;

/** Waits until `destination` has taken what `source` (piped into it) holds beyond AHEAD_BYTES. */
async function caughtUp(source: Readable | null, destination: Writable): Promise<void> {
  for (;;) {
    if (destination.destroyed || destination.writableEnded || source?.destroyed)
      throw new DocumentAbandonedError('the destination closed before the end');
    if (destination.writableNeedDrain) {
      await new Promise<void>((resolve) => {
        const done = () => {
          destination.off('drain', done);
          destination.off('close', done);
          resolve();
        };
        destination.once('drain', done);
        destination.once('close', done);
      });
    } else if (source && source.readableLength > AHEAD_BYTES) {
      // The pipe moves the source's buffered bytes on at its next turn.
      await new Promise((resolve) => setImmediate(resolve));
    } else {
      return;
    }
  }
}

/** Reads the packet's letters a page at a time, waiting for the destination between pages. */
async function* letterPages(
  source: PacketSource,
  wait: () => Promise<void>,
  pageSize: number,
): AsyncGenerator<PrintedLetter> {
  let after = 0;
  for (;;) {
    await wait();
    const page = await source.letters(after, pageSize);
    for (const letter of page) yield letter;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.id;
  }
}

const coverLines = (cover: PacketCover): { lead: string[]; written: string } => ({
  lead: [
    `${numberFormat.format(cover.letters)} ${cover.letters === 1 ? 'letter' : 'letters'} from constituents to ${cover.targetName}${cover.targetTitle ? `, ${cover.targetTitle}` : ''}.`,
    cover.campaignTitle ? `Written through the campaign "${cover.campaignTitle}".` : '',
  ].filter(Boolean),
  written:
    cover.firstWritten && cover.lastWritten
      ? longDate(cover.firstWritten) === longDate(cover.lastWritten)
        ? `Written on ${longDate(cover.firstWritten)}.`
        : `Written between ${longDate(cover.firstWritten)} and ${longDate(cover.lastWritten)}.`
      : '',
});

const packetLine = (cover: PacketCover) =>
  [
    cover.packetId !== null
      ? `Packet ${cover.packetId}, prepared ${longDate(cover.preparedAt)}`
      : `Prepared ${longDate(cover.preparedAt)}`,
    cover.deliveredOn ? `delivered ${dayOf(cover.deliveredOn)}` : '',
  ]
    .filter(Boolean)
    .join('; ');

const areaLines = (areas: AreaCount[]) =>
  areas.map((area) => `${area.label}: ${numberFormat.format(area.letters)}`);

// ---------------------------------------------------------------------------------------------
// Plain text

const RULE = '-'.repeat(72);

/** The packet as plain text (UTF-8): the cover, then each letter after a rule and a page break (form feed). */
export async function writePacketText(
  source: PacketSource,
  destination: Writable,
  options: { pageSize?: number } = {},
): Promise<{ letters: number }> {
  const { cover } = source;
  const write = (text: string) => void destination.write(text);
  const lines = coverLines(cover);
  write(
    [
      `LETTERS FROM CONSTITUENTS`,
      '',
      `To: ${cover.targetName}`,
      cover.targetTitle ? `    ${cover.targetTitle}` : '',
      '',
      ...(cover.postalAddresses.length > 0
        ? [
            'Postal address:',
            ...cover.postalAddresses.map(
              (postal) => `    ${postal.label ? `${postal.label}: ` : ''}${postal.address}`,
            ),
          ]
        : ['Postal address: not in the representative data.']),
      '',
      ...lines.lead,
      lines.written,
      '',
      `${cover.districtHeading}:`,
      ...areaLines(cover.byDistrict).map((line) => `    ${line}`),
      '',
      'By ZIP area:',
      ...areaLines(cover.byZipArea).map((line) => `    ${line}`),
      '',
      `${packetLine(cover)}. Each letter follows on its own page; they carry their writers' names, this page names no one.`,
      '',
    ]
      .filter((line, index, all) => line !== '' || all[index - 1] !== '')
      .join('\n'),
  );
  let count = 0;
  for await (const letter of letterPages(
    source,
    () => caughtUp(null, destination),
    options.pageSize ?? PACKET_PAGE_LETTERS,
  )) {
    count++;
    write(
      `\n${RULE}\n\f\nLetter ${numberFormat.format(count)} of ${numberFormat.format(cover.letters)}, written ${longDate(letter.writtenAt)}\n\nSubject: ${letter.subject}\n\n${letter.body.replace(/\r\n?/g, '\n')}\n`,
    );
  }
  // `end()` without a callback: express-session wraps a response's `end` and takes no callback.
  destination.end();
  await finished(destination);
  return { letters: count };
}

// ---------------------------------------------------------------------------------------------
// PDF

/**
 * The characters the PDF's built-in font (Helvetica, WinAnsi encoding) has: printable ASCII,
 * Latin-1, and the few others WinAnsi adds (curly quotes, dashes, the euro sign…). Embedding a
 * font with every script would make each packet megabytes larger; the plain text has them all.
 */
const WIN_ANSI_EXTRA = new Set([
  402, 8211, 8212, 8216, 8217, 8218, 8220, 8221, 8222, 8224, 8225, 8226, 8230, 8364, 8240, 8249,
  8250, 710, 8482, 338, 339, 732, 352, 353, 376, 381, 382,
]);

/** Text the built-in font can show: other characters become `?`, and are counted. */
export function printable(text: string): { text: string; replaced: number } {
  let replaced = 0;
  const out = text
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, '    ')
    .replace(/[^\n]/gu, (char) => {
      const code = char.codePointAt(0)!;
      if (
        (code >= 0x20 && code <= 0x7e) ||
        (code >= 0xa0 && code <= 0xff) ||
        WIN_ANSI_EXTRA.has(code)
      )
        return char;
      replaced++;
      return '?';
    });
  return { text: out, replaced };
}

const MARGIN = 72;
const INK = '#15202b';
const MUTED = '#4a5866';

/**
 * The packet as a print-ready PDF (US Letter): the cover, then a page (or more, for a long one)
 * per letter. `compress: false` writes the page contents uncompressed (tests read them).
 */
export async function writePacketPdf(
  source: PacketSource,
  destination: Writable,
  options: { pageSize?: number; compress?: boolean } = {},
): Promise<{ letters: number; replacedCharacters: number }> {
  const { cover } = source;
  const doc = new PDFDocument({
    size: 'LETTER',
    margins: { top: MARGIN, bottom: MARGIN, left: MARGIN, right: MARGIN },
    compress: options.compress ?? true,
    lang: 'en-US',
    displayTitle: true,
    info: {
      Title: printable(
        `Letters to ${cover.targetName}${cover.targetTitle ? `, ${cover.targetTitle}` : ''}`,
      ).text,
      Subject: printable(cover.campaignTitle).text,
      Creator: 'Ban Face Surveillance letter platform',
    },
  });
  const piped = pipeline(doc, destination);
  piped.catch(() => undefined);
  let replaced = 0;
  const text = (
    value: string,
    style: { font?: string; size?: number; color?: string; gap?: number } = {},
  ) => {
    const shown = printable(value);
    replaced += shown.replaced;
    doc
      .font(style.font ?? 'Helvetica')
      .fontSize(style.size ?? 11)
      .fillColor(style.color ?? INK)
      .text(shown.text, { lineGap: 2 });
    if (style.gap) doc.moveDown(style.gap);
  };

  let count = 0;
  try {
    // The cover.
    const lines = coverLines(cover);
    text('LETTERS FROM CONSTITUENTS', { font: 'Helvetica-Bold', size: 10, color: MUTED, gap: 0.6 });
    text(cover.targetName, { font: 'Helvetica-Bold', size: 22 });
    if (cover.targetTitle) text(cover.targetTitle, { size: 13, color: MUTED });
    doc.moveDown(1);
    if (cover.postalAddresses.length > 0) {
      for (const postal of cover.postalAddresses) {
        if (postal.label) text(postal.label, { font: 'Helvetica-Bold', size: 10, color: MUTED });
        text(postal.address, { gap: 0.5 });
      }
    } else {
      text('No postal address for this office in the representative data.', {
        color: MUTED,
        gap: 0.5,
      });
    }
    doc.moveDown(0.5);
    text(numberFormat.format(cover.letters), { font: 'Helvetica-Bold', size: 40 });
    for (const line of lines.lead) text(line, { size: 13 });
    if (lines.written) text(lines.written, { size: 13 });
    doc.moveDown(1);
    const areas = (heading: string, rows: AreaCount[]) => {
      text(heading, { font: 'Helvetica-Bold', size: 12, gap: 0.2 });
      text(areaLines(rows).join('\n') || 'None', { size: 10, gap: 0.8 });
    };
    areas(cover.districtHeading, cover.byDistrict);
    areas('By ZIP area', cover.byZipArea);
    text(
      `${packetLine(cover)}. Each letter follows on its own page. The letters carry their writers' names; this page names no one.`,
      {
        size: 9,
        color: MUTED,
      },
    );

    // The letters.
    for await (const letter of letterPages(
      source,
      () => caughtUp(doc, destination),
      options.pageSize ?? PACKET_PAGE_LETTERS,
    )) {
      count++;
      doc.addPage();
      text(
        `Letter ${numberFormat.format(count)} of ${numberFormat.format(cover.letters)} · written ${longDate(letter.writtenAt)}`,
        {
          size: 9,
          color: MUTED,
          gap: 1,
        },
      );
      text(`Subject: ${letter.subject}`, { font: 'Helvetica-Bold', size: 12, gap: 1 });
      text(letter.body, { size: 11 });
    }
    doc.end();
  } catch (error) {
    doc.destroy(error as Error);
    throw error;
  }
  await piped;
  return { letters: count, replacedCharacters: replaced };
}
