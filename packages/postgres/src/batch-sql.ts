/**
 * The SQL of one batch, inside the transaction the store opened (READ COMMITTED): preconditions
 * made exact with row locks, the deletes and upserts, then the change log's ordered append, whose
 * counter row stays locked until COMMIT so positions follow commit order (see the store's class
 * comment and the README).
 */
import { type AppendOp, ContextServicesError, POSITION_WIDTH, type Precondition, prefixEnd } from '@cxs/core';
import type { QueryResult } from 'pg';
import type { Tables } from './schema.js';

/** What one batch's transaction does. */
export interface Work {
  readonly preconditions: readonly Precondition[];
  readonly dels: string[];
  readonly puts: string[];
  readonly values: string[];
  readonly append: AppendOp | undefined;
}

/** A query on the transaction's connection. */
export type Query = <R extends object = Record<string, unknown>>(
  text: string,
  values?: unknown[],
) => Promise<QueryResult<R>>;

/**
 * Run `work` on the open transaction: lock and check the preconditions (`PRECONDITION_FAILED`,
 * after `onPreconditionFailed`, when one does not hold), write, then append. The caller commits.
 */
export async function writeBatch(
  query: Query,
  tables: Tables,
  work: Work,
  onPreconditionFailed: () => void,
): Promise<void> {
  const { preconditions, dels, puts, values, append } = work;
  const { entries, appends } = tables;
  const putValue = new Map(puts.map((k, i) => [k, values[i] as string]));
  const claimed = new Set<string>();
  if (preconditions.length > 0) {
    const absent = [...new Set(preconditions.filter((p) => 'absent' in p).map((p) => p.key))].sort();
    const present = [...new Set(preconditions.filter((p) => !('absent' in p)).map((p) => p.key))].sort();
    const current = new Map<string, string>();
    if (present.length > 0) {
      const { rows } = await query<{ key: string; value: string }>(
        `SELECT key, value FROM ${entries} WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE`,
        [present],
      );
      for (const r of rows) current.set(r.key, r.value);
    }
    if (absent.length > 0) {
      // The batch's own value when it writes the key, else a placeholder deleted below.
      const { rows } = await query<{ key: string }>(
        `INSERT INTO ${entries} (key, value) SELECT * FROM unnest($1::text[], $2::text[])
         ON CONFLICT (key) DO NOTHING RETURNING key`,
        [absent, absent.map((k) => putValue.get(k) ?? '')],
      );
      for (const r of rows) claimed.add(r.key);
    }
    for (const p of preconditions) {
      const holds = 'absent' in p ? claimed.has(p.key) : current.get(p.key) === p.value;
      if (!holds) {
        onPreconditionFailed();
        throw new ContextServicesError('PRECONDITION_FAILED', 'A precondition of the batch does not hold', {
          details: { key: p.key },
        });
      }
    }
  }
  // Placeholders of claimed keys the batch does not write go again.
  const deletes = [...dels, ...[...claimed].filter((k) => !putValue.has(k) && !dels.includes(k))].sort();
  if (deletes.length > 0) {
    await query(`DELETE FROM ${entries} WHERE key = ANY($1::text[])`, [deletes]);
  }
  const upserts = puts.filter((k) => !claimed.has(k)).sort();
  if (upserts.length > 0) {
    await query(
      `INSERT INTO ${entries} (key, value) SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [upserts, upserts.map((k) => putValue.get(k) as string)],
    );
  }
  if (append !== undefined) {
    // Last: the counter row is locked from here to COMMIT (see the class comment). A prefix
    // without a row starts after the last key stored under it (COALESCE reads the entries
    // only then; with a row, the conflict branch counts on from the row's current value).
    const n = append.values.length;
    await query(
      `WITH counter AS (
         INSERT INTO ${appends} (prefix, last)
         VALUES ($1, COALESCE(
           (SELECT last FROM ${appends} WHERE prefix = $1),
           (SELECT substr(key, $2)::bigint FROM ${entries}
             WHERE key > $1 AND key < $3 ORDER BY key DESC LIMIT 1),
           0) + $4::bigint)
         ON CONFLICT (prefix) DO UPDATE SET last = ${appends}.last + $4::bigint
         RETURNING last
       )
       INSERT INTO ${entries} (key, value)
       SELECT $1 || lpad((counter.last - $4::bigint + v.n)::text, ${POSITION_WIDTH}, '0'), v.value
       FROM counter, unnest($5::text[]) WITH ORDINALITY AS v(value, n)`,
      [append.prefix, append.prefix.length + 1, prefixEnd(append.prefix), n, append.values],
    );
  }
}
