import { Transform, type TransformCallback } from 'node:stream';

/**
 * Reads the output of `COPY (...) TO STDOUT WITH (FORMAT binary)` row by row, however it is cut
 * into chunks, and writes each row as `formatRow` renders it (a line of CSV, say). Binary COPY
 * gives each field as its length and its bytes, so the rows are found without unescaping
 * anything: text comes as its UTF-8 bytes, bytea as the raw bytes (see PostgreSQL's
 * documentation of COPY's binary format). Each field is handed over as a view into the chunk,
 * valid only during the call. `prefix` (a CSV header line, say) is written first.
 */

/** `PGCOPY\n\377\r\n\0`, the flags field and the header extension's length. */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = SIGNATURE.length + 8;

export type BinaryField = Buffer | null;

export class BinaryCopyRows extends Transform {
  private pending: Buffer | null = null;
  private headerRead = false;
  private ended = false;

  constructor(
    private readonly formatRow: (fields: BinaryField[]) => string,
    prefix = '',
  ) {
    super();
    if (prefix) this.push(prefix, 'utf8');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    let position = 0;
    if (!this.headerRead) {
      if (data.length < HEADER_BYTES) {
        this.pending = data;
        return done();
      }
      if (!data.subarray(0, SIGNATURE.length).equals(SIGNATURE))
        return done(new Error('not the output of a binary COPY'));
      const extension = data.readInt32BE(SIGNATURE.length + 4);
      if (data.length < HEADER_BYTES + extension) {
        this.pending = data;
        return done();
      }
      position = HEADER_BYTES + extension;
      this.headerRead = true;
    }
    let output = '';
    try {
      while (!this.ended && position + 2 <= data.length) {
        const count = data.readInt16BE(position);
        if (count === -1) {
          this.ended = true;
          position += 2;
          break;
        }
        if (count < 0) throw new Error('not the output of a binary COPY: a negative field count');
        const fields: BinaryField[] = new Array<BinaryField>(count);
        let at = position + 2;
        let complete = true;
        for (let index = 0; index < count; index++) {
          if (at + 4 > data.length) {
            complete = false;
            break;
          }
          const length = data.readInt32BE(at);
          at += 4;
          if (length === -1) {
            fields[index] = null;
            continue;
          }
          if (length < 0)
            throw new Error('not the output of a binary COPY: a negative field length');
          if (at + length > data.length) {
            complete = false;
            break;
          }
          fields[index] = data.subarray(at, at + length);
          at += length;
        }
        if (!complete) break;
        output += this.formatRow(fields);
        position = at;
      }
    } catch (error) {
      return done(error as Error);
    }
    data = data.subarray(position);
    this.pending = data.length > 0 ? data : null;
    if (output) this.push(output, 'utf8');
    done();
  }

  override _flush(done: TransformCallback): void {
    done(
      this.ended && !this.pending
        ? null
        : new Error('the COPY output ended in the middle of a row'),
    );
  }
}
