/**
 * The SQL of one batch: a single statement (data-modifying CTEs) that locks and checks the
 * preconditions, then, only when they all hold, deletes, upserts and appends, and answers whether
 * it wrote. On its own it is one transaction (autocommit), so most batches cost one round trip;
 * see {@link batchStatement} for the few that need a transaction around it.
 */
import { type AppendOp, POSITION_WIDTH, type Precondition, prefixEnd } from '@cxs/core';
import type { Tables } from './schema.js';

/** What one batch does. */
export interface Work {
  readonly preconditions: readonly Precondition[];
  readonly dels: string[];
  readonly puts: string[];
  readonly values: string[];
  readonly append: AppendOp | undefined;
}

/** The statement of one batch. */
export interface BatchStatement {
  /** Prepared-statement name: one per shape of statement and schema. */
  readonly name: string;
  readonly text: string;
  readonly values: unknown[];
  /**
   * Keys required absent that the batch does not write: the statement claims them with a
   * placeholder row, which the caller deletes again before COMMIT, in a transaction.
   */
  readonly placeholders: string[];
  /**
   * True when the statement alone cannot be all or nothing (several claims, placeholders): the
   * caller wraps it in a transaction and rolls back when it answers `ok = false`.
   */
  readonly transaction: boolean;
}

/** The statement's one row. */
export interface BatchAnswer {
  /** Every precondition held, and the writes were done. */
  readonly ok: boolean;
  /** Keys of value preconditions that did not hold (null: none). */
  readonly mismatched: string[] | null;
  /** Keys required absent that the statement claimed (null: none, or not tried). */
  readonly claimed: string[] | null;
  /** Keys required absent found present, when the claims were not tried (null: none). */
  readonly existing: string[] | null;
}

/**
 * Build the statement of `work`. Its parts run in this order, each gated on the ones before
 * (a subquery without row references is a one-time filter, evaluated before its scan):
 *
 * 1. `locked`: the rows named by value preconditions, `FOR UPDATE` in key order. A row a
 *    concurrent transaction holds is waited for, then read as committed (READ COMMITTED).
 * 2. `claimed`: keys required absent are inserted (`ON CONFLICT DO NOTHING`), with the batch's
 *    own value or a placeholder, only if the value preconditions held. A concurrent inserter of
 *    the same key is waited for; if it commits, the key is not claimed.
 * 3. `ok`: every value precondition held and every claim succeeded.
 * 4. The deletes and upserts, only if `ok`.
 * 5. The ordered append, last and only if `ok`: the counter row of the prefix is incremented and
 *    stays locked until the statement commits, so positions become visible in their order.
 */
export function batchStatement(tables: Tables, work: Work): BatchStatement {
  const { preconditions, dels, puts, values, append } = work;
  const { entries: E, appends: A } = tables;
  const params: unknown[] = [];
  const $ = (value: unknown, cast: string) => {
    params.push(value);
    return `$${params.length}::${cast}`;
  };
  const putValue = new Map(puts.map((k, i) => [k, values[i] as string]));
  const absent = [...new Set(preconditions.filter((p) => 'absent' in p).map((p) => p.key))].sort();
  const absentSet = new Set(absent);
  const present = preconditions.filter((p): p is { key: string; value: string } => !('absent' in p));
  const placeholders = absent.filter((k) => !putValue.has(k));
  const ctes: string[] = [];
  let shape = '';
  const gates: string[] = [];
  if (present.length > 0) {
    shape += 'p';
    const keys = $(
      present.map((p) => p.key),
      'text[]',
    );
    const expected = $(
      present.map((p) => p.value),
      'text[]',
    );
    ctes.push(
      `locked AS MATERIALIZED (SELECT key, value FROM ${E} WHERE key = ANY(${keys}) ORDER BY key FOR UPDATE)`,
      // Every locked row is read (the aggregate consumes the join), so every one is locked.
      `mismatch AS MATERIALIZED (SELECT array_agg(p.key ORDER BY p.i) FILTER (WHERE l.value IS DISTINCT FROM p.value) AS keys
         FROM unnest(${keys}, ${expected}) WITH ORDINALITY AS p(key, value, i) LEFT JOIN locked l ON l.key = p.key)`,
    );
    gates.push('(SELECT keys FROM mismatch) IS NULL');
  }
  const absentKeys = absent.length > 0 ? $(absent, 'text[]') : '';
  if (absent.length > 0) {
    shape += 'c';
    ctes.push(
      `claimed AS (INSERT INTO ${E} (key, value)
         SELECT * FROM unnest(${absentKeys}, ${$(
           absent.map((k) => putValue.get(k) ?? ''),
           'text[]',
         )})${gates.length > 0 ? ` WHERE ${gates.join(' AND ')}` : ''}
         ON CONFLICT (key) DO NOTHING RETURNING key)`,
    );
    gates.push(`(SELECT count(*) FROM claimed) = cardinality(${absentKeys})`);
  }
  if (gates.length > 0) ctes.push(`ok AS MATERIALIZED (SELECT ${gates.join(' AND ')} AS ok)`);
  const when = gates.length > 0 ? '(SELECT ok FROM ok)' : undefined;
  const written: string[] = [];
  const deletes = dels.filter((k) => !absentSet.has(k)).sort();
  if (deletes.length > 0) {
    shape += 'd';
    ctes.push(
      `deleted AS (DELETE FROM ${E} WHERE key = ANY(${$(deletes, 'text[]')})${when ? ` AND ${when}` : ''} RETURNING 1)`,
    );
    written.push('(SELECT count(*) FROM deleted)');
  }
  const upserts = puts.filter((k) => !absentSet.has(k)).sort();
  if (upserts.length > 0) {
    shape += 'u';
    ctes.push(
      `upserted AS (INSERT INTO ${E} (key, value)
         SELECT * FROM unnest(${$(upserts, 'text[]')}, ${$(
           upserts.map((k) => putValue.get(k) as string),
           'text[]',
         )})${when ? ` WHERE ${when}` : ''}
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value RETURNING 1)`,
    );
    written.push('(SELECT count(*) FROM upserted)');
  }
  const answer = [
    `${when ?? 'true'} AS ok`,
    present.length > 0 ? '(SELECT keys FROM mismatch) AS mismatched' : 'NULL::text[] AS mismatched',
    absent.length > 0 ? '(SELECT array_agg(key) FROM claimed) AS claimed' : 'NULL::text[] AS claimed',
    // Only to name the failed precondition when the claims were not tried.
    present.length > 0 && absent.length > 0
      ? `CASE WHEN (SELECT keys FROM mismatch) IS NOT NULL THEN
           (SELECT array_agg(key) FROM ${E} WHERE key = ANY(${absentKeys})) END AS existing`
      : 'NULL::text[] AS existing',
  ];
  if (append !== undefined) {
    shape += 'a';
    // Gated on the writes (their counts), so that the counter row is locked last. A prefix
    // without a row starts after the last key stored under it (COALESCE reads the entries only
    // then; with a row, the conflict branch counts on from the row's current value).
    const after = [...(when ? [when] : []), ...(written.length > 0 ? [`${written.join(' + ')} >= 0`] : [])];
    const prefix = $(append.prefix, 'text');
    const n = $(append.values.length, 'bigint');
    ctes.push(
      `counter AS (INSERT INTO ${A} (prefix, last)
         SELECT ${prefix}, COALESCE(
           (SELECT last FROM ${A} WHERE prefix = ${prefix}),
           (SELECT substr(key, ${$(append.prefix.length + 1, 'int')})::bigint FROM ${E}
             WHERE key > ${prefix} AND key < ${$(prefixEnd(append.prefix), 'text')} ORDER BY key DESC LIMIT 1),
           0) + ${n}${after.length > 0 ? ` WHERE ${after.join(' AND ')}` : ''}
         ON CONFLICT (prefix) DO UPDATE SET last = ${A}.last + ${n}
         RETURNING last)`,
      `appended AS (INSERT INTO ${E} (key, value)
         SELECT ${prefix} || lpad((counter.last - ${n} + v.n)::text, ${POSITION_WIDTH}, '0'), v.value
         FROM counter, unnest(${$(append.values, 'text[]')}) WITH ORDINALITY AS v(value, n) RETURNING 1)`,
    );
    answer.push('(SELECT count(*) FROM appended) AS appended');
  } else if (written.length > 0) {
    answer.push(`${written.join(' + ')} AS written`);
  }
  return {
    name: `cxs.${tables.schema}.batch.${shape}`,
    text: `WITH ${ctes.join(',\n')}\nSELECT ${answer.join(', ')}`,
    values: params,
    placeholders,
    transaction: absent.length > 1 || placeholders.length > 0,
  };
}

/**
 * The key of the first precondition, in the caller's order, that the answer says did not hold.
 * Keys required absent that were not tried (a value precondition failed first) count as failed
 * when the statement's snapshot had them.
 */
export function failedKey(preconditions: readonly Precondition[], answer: BatchAnswer): string | undefined {
  const mismatched = new Set(answer.mismatched ?? []);
  const tried = answer.mismatched === null;
  const claimed = new Set(answer.claimed ?? []);
  const existing = new Set(answer.existing ?? []);
  for (const p of preconditions) {
    const failed =
      'absent' in p ? (tried ? !claimed.has(p.key) : existing.has(p.key)) : mismatched.has(p.key);
    if (failed) return p.key;
  }
  return preconditions[0]?.key;
}
