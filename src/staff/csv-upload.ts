import type { RequestHandler, Response } from 'express';
import multer from 'multer';
import type { createCsrf } from '../http/csrf';

/** The largest CSV file (or pasted CSV text, in the same multipart form) the console takes. */
export const MAX_CSV_BYTES = 2 * 1024 * 1024;

/**
 * Reads a multipart form with one CSV file in its `file` field (and its other fields), for a route
 * listed in MULTIPART_ROUTES (./routes.ts), which checks the CSRF token once this has run. A body
 * that cannot be read (too large, more than one file) is answered by `refuse` with the message for
 * the file field, once the CSRF check has passed: a cross-site upload is refused as such.
 */
export function receiveCsv(
  csrf: ReturnType<typeof createCsrf>,
  refuse: (res: Response, message: string) => Promise<unknown>,
): RequestHandler {
  const csv = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: MAX_CSV_BYTES, fieldSize: MAX_CSV_BYTES, files: 1, fields: 10 },
  });
  return (req, res, next) =>
    csv.single('file')(req, res, (error: unknown) => {
      if (!error) return next();
      const code = (error as { code?: string }).code;
      const limit = `${MAX_CSV_BYTES / 1024 / 1024} MB`;
      const message =
        code === 'LIMIT_FILE_SIZE'
          ? `The file is larger than ${limit}.`
          : code === 'LIMIT_FIELD_VALUE'
            ? `The pasted text is larger than ${limit}.`
            : 'Upload one CSV file with the form.';
      csrf.protect(req, res, (csrfError?: unknown) => {
        if (csrfError) next(csrfError);
        else refuse(res, message).catch(next);
      });
    });
}

/** An uploaded file's text (UTF-8; bytes that are not are replaced, and the CSV checks name the row). */
export const uploadedText = (file: Express.Multer.File): string =>
  new TextDecoder('utf-8', { fatal: false }).decode(file.buffer);
