/** Opaque cursors and limit parsing shared by list endpoints. */
import { z } from 'zod';
import { ValidationError } from '../lib/errors';

export const limitSchema = z.coerce.number().int().min(1).max(500).default(50);

export function encodeCursor(value: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T extends z.ZodType>(cursor: string | undefined, schema: T): z.infer<T> | undefined {
  if (cursor === undefined) return undefined;
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new ValidationError('The cursor is not one this API issued.', [{ path: 'query.cursor', message: 'invalid cursor' }]);
  }
}

/** A page from `limit + 1` fetched rows: the first `limit`, and a cursor when there was one more. */
export function pageOf<T>(rows: T[], limit: number, cursorOf: (last: T) => Record<string, string | number>): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(cursorOf(last)) : null };
}
