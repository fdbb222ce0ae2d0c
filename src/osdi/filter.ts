import type { DateCondition } from '../db/record-pages';

/**
 * The part of OSDI's OData filter language the collections take: conditions on `created_date` and
 * `modified_date` with gt, ge, lt, le or eq and a quoted ISO 8601 date, joined with `and`, as
 * `filter=modified_date gt '2026-12-01T00:00:00Z'` for an incremental sync. Anything else is
 * refused with a message (a 400), never ignored: a sync that asked for less must not get more.
 */
export type ParsedFilter =
  { ok: true; conditions: DateCondition[] } | { ok: false; message: string };

const CONDITION = /^(created_date|modified_date)\s+(gt|ge|lt|le|eq)\s+'([^']{4,40})'$/i;

export function parseFilter(raw: unknown): ParsedFilter {
  if (raw === undefined || raw === '') return { ok: true, conditions: [] };
  if (typeof raw !== 'string' || raw.length > 300)
    return { ok: false, message: 'filter must be one text of up to 300 characters.' };
  const parts = raw.trim().split(/\s+and\s+/i);
  const conditions: DateCondition[] = [];
  for (const part of parts) {
    const match = CONDITION.exec(part.trim());
    if (!match) {
      return {
        ok: false,
        message:
          "filter takes created_date or modified_date, then gt, ge, lt, le or eq, then a quoted date, joined with and: modified_date gt '2026-12-01T00:00:00Z'.",
      };
    }
    const value = new Date(match[3]!);
    if (!/^\d{4}-\d{2}-\d{2}/.test(match[3]!) || Number.isNaN(value.getTime())) {
      return {
        ok: false,
        message: `'${match[3]}' is not an ISO 8601 date, like '2026-12-01T00:00:00Z'.`,
      };
    }
    conditions.push({
      field: match[1]!.toLowerCase() as DateCondition['field'],
      op: match[2]!.toLowerCase() as DateCondition['op'],
      value,
    });
  }
  return { ok: true, conditions };
}
