import type { ItemFilter } from './types';

/** An {@link ItemFilter} as a SQL WHERE clause over `items i JOIN item_state s` and its parameters. */
export function whereClause(where: ItemFilter): { sql: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const add = (condition: string, ...values: unknown[]) => {
    conditions.push(condition);
    params.push(...values);
  };
  add('s.deleted = ?', where.deleted ? 1 : 0);
  if (where.ids) add(`i.id IN (SELECT value FROM json_each(?))`, JSON.stringify(where.ids));
  if (where.label === null) add('s.label IS NULL');
  else if (where.label !== undefined) add('s.label = ?', where.label);
  if (where.labeled !== undefined) add(where.labeled ? 's.label IS NOT NULL' : 's.label IS NULL');
  if (where.labelSource !== undefined) add('s.label_source = ?', where.labelSource);
  if (where.split === null) add('i.split IS NULL');
  else if (where.split !== undefined) add('i.split = ?', where.split);
  if (where.skipped !== undefined) add('s.skipped = ?', where.skipped ? 1 : 0);
  if (where.dontKnow !== undefined) add('s.dont_know = ?', where.dontKnow ? 1 : 0);
  if (where.hasCaption !== undefined) add(where.hasCaption ? "coalesce(s.caption, '') <> ''" : "coalesce(s.caption, '') = ''");
  if (where.tag !== undefined) add('EXISTS (SELECT 1 FROM json_each(s.tags) WHERE value = ?)', where.tag);
  if (where.uriLike !== undefined) add('i.uri LIKE ?', where.uriLike);
  if (where.missing !== undefined) add('i.missing = ?', where.missing ? 1 : 0);
  return { sql: `WHERE ${conditions.join(' AND ')}`, params };
}

/** `text` as a LIKE pattern that matches it literally (with `ESCAPE '\'`). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
