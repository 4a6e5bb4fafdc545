/**
 * Roles (docs/spec.md §9): writes need `Administrator`, reads `Administrator` or `Supervisor`. How a
 * request gets its roles is pluggable ({@link Authorize}); HTTP Basic with a users file whose
 * passwords are scrypt hashes is built in.
 */
import { createHmac, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Context, Middleware } from 'koa';
import { HttpError } from '../http/errors.js';

/** Roles of the original server. */
export const ROLES = { admin: 'Administrator', supervisor: 'Supervisor' } as const;

/**
 * Returns the roles of the caller, or `undefined` when the request carries no valid credentials
 * (→ 401). A caller without the role the route needs gets 403.
 */
export type Authorize = (
  ctx: Context,
) => readonly string[] | undefined | Promise<readonly string[] | undefined>;

/** One entry of the users file. */
export interface UserEntry {
  username: string;
  /** A hash made by {@link hashPassword} (`cxs hash-password`), never the password itself. */
  password: string;
  roles: string[];
}

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

const DEFAULT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = 256 * params.N * params.r + 1024 * 1024;
    scryptCb(password.normalize('NFC'), salt, KEY_LENGTH, { ...params, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/**
 * Hash a password for the users file: `scrypt$N$r$p$<salt>$<hash>` (base64url), with a random
 * 16-byte salt per call.
 *
 * @example
 * ```ts
 * const hash = await hashPassword('s3cret'); // 'scrypt$32768$8$1$…$…'
 * ```
 */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_PARAMS): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join(
    '$',
  );
}

function parseHash(hash: string): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(hash);
  if (m === null) return undefined;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Bounded so that a hostile users file cannot make one check take gigabytes.
  if (N < 2 || N > 2 ** 20 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  return {
    params: { N, r, p },
    salt: Buffer.from(m[4] as string, 'base64url'),
    key: Buffer.from(m[5] as string, 'base64url'),
  };
}

/** Check a password against a {@link hashPassword} hash in constant time. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parseHash(hash);
  if (parsed === undefined) return false;
  const key = await scrypt(password, parsed.salt, parsed.params);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

/**
 * Validate users as read from a users file: `{"users": [{"username", "password", "roles"}]}`.
 *
 * @throws TypeError naming the bad entry.
 */
export function checkUsers(value: unknown): UserEntry[] {
  const list = (value as { users?: unknown } | null)?.users;
  if (!Array.isArray(list))
    throw new TypeError('users file must be {"users": [{"username", "password", "roles"}]}');
  const seen = new Set<string>();
  return list.map((u: unknown, i) => {
    const r = u as Record<string, unknown> | null;
    if (typeof r?.username !== 'string' || r.username === '' || r.username.includes(':')) {
      throw new TypeError(`users[${i}].username must be a non-empty string without ':'`);
    }
    if (typeof r.password !== 'string' || parseHash(r.password) === undefined) {
      throw new TypeError(`users[${i}].password must be a hash made by 'cxs hash-password'`);
    }
    if (!Array.isArray(r.roles) || r.roles.some((x) => typeof x !== 'string')) {
      throw new TypeError(`users[${i}].roles must be an array of strings`);
    }
    if (seen.has(r.username)) throw new TypeError(`users[${i}]: username '${r.username}' is used twice`);
    seen.add(r.username);
    return { username: r.username, password: r.password, roles: [...(r.roles as string[])] };
  });
}

/** Read and check a users file (JSON, see {@link checkUsers}). */
export async function loadUsersFile(path: string): Promise<UserEntry[]> {
  const text = await readFile(path, 'utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TypeError(`users file ${path} is not JSON: ${(error as Error).message}`);
  }
  return checkUsers(json);
}

/** Decode `Authorization: Basic …` to user and password, or undefined. */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header ?? '');
  if (m === null) return undefined;
  const text = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  return { user: text.slice(0, i), password: text.slice(i + 1) };
}

/** Options of {@link basicAuth}. */
export interface BasicAuthOptions {
  /** Credentials remembered after a successful check, and after a failed one (default 1,000 each). */
  cacheSize?: number;
  /**
   * scrypt checks running at once (default 1). scrypt runs on libuv's thread pool (4 threads by
   * default), which the LevelDB store also uses: the pool threads left over keep serving the store
   * however many bad passwords arrive.
   */
  maxConcurrentChecks?: number;
  /** Checks waiting for a slot (default 4); past it the request gets 429 at once. */
  maxQueuedChecks?: number;
  /**
   * Failed checks one client (by `ctx.ip`) may cause per {@link failureWindowMs} (default 20;
   * 0 = no budget). Past it, that client's failing requests are answered 429 after
   * {@link failureDelayMs}, without running scrypt; its requests with credentials already checked
   * pass as before. Behind a reverse proxy every client has the proxy's address unless the Koa
   * app trusts `X-Forwarded-For` (`app.proxy = true`).
   */
  failureBudget?: number;
  /** The window of {@link failureBudget}, in ms (default 60,000). */
  failureWindowMs?: number;
  /** How long an answer to a client past its budget is held back, in ms (default 1,000). */
  failureDelayMs?: number;
}

/** A bounded map that forgets its oldest entry first. */
class Bounded<V> extends Map<string, V> {
  constructor(readonly max: number) {
    super();
  }
  override set(key: string, value: V): this {
    if (!this.has(key) && this.size >= this.max) this.delete(this.keys().next().value as string);
    return super.set(key, value);
  }
}

/** At most `max` tasks at once, at most `queue` waiting; `undefined` when the queue is full. */
function limiter(max: number, queue: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T | undefined> => {
    if (running >= max) {
      if (waiting.length >= queue) return undefined;
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

function tooMany(retryAfterSeconds: number): HttpError {
  return new HttpError('TOO_MANY_REQUESTS', 'Too many failed authentication attempts: try again later', {
    'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))),
  });
}

/**
 * The built-in {@link Authorize}: HTTP Basic against users with scrypt hashes. Unknown users cost
 * the same as a wrong password. Checks are remembered, successes and failures alike (bounded,
 * keyed by an HMAC of the header under a per-process key), so a client does not pay for scrypt on
 * every request and a repeated bad password costs nothing. scrypt checks run a few at a time with
 * a small queue, and each client has a failure budget (see {@link BasicAuthOptions}): a flood of
 * bad credentials cannot starve authenticated requests nor the store (docs/spec.md §13). Past the queue or
 * the budget the answer is 429 `TOO_MANY_REQUESTS` with `Retry-After`.
 *
 * @example
 * ```ts
 * const app = createApp(engine, { authorize: basicAuth(await loadUsersFile('users.json')) });
 * ```
 */
export function basicAuth(users: readonly UserEntry[], options: number | BasicAuthOptions = {}): Authorize {
  const o: BasicAuthOptions = typeof options === 'number' ? { cacheSize: options } : options;
  const cacheSize = o.cacheSize ?? 1000;
  const budget = o.failureBudget === 0 ? Number.POSITIVE_INFINITY : (o.failureBudget ?? 20);
  const windowMs = o.failureWindowMs ?? 60_000;
  const delayMs = o.failureDelayMs ?? 1000;
  const byName = new Map(checkUsers({ users }).map((u) => [u.username, u]));
  const dummy = hashPassword(randomBytes(16).toString('hex'));
  const cacheKey = randomBytes(32);
  const cache = new Bounded<readonly string[]>(cacheSize);
  const failed = new Bounded<true>(cacheSize);
  const failures = new Bounded<{ count: number; since: number }>(10_000);
  const check = limiter(o.maxConcurrentChecks ?? 1, o.maxQueuedChecks ?? 4);

  /** Count a failure of `client`; resolves once the answer may go (held back past the budget). */
  const fail = async (client: string): Promise<undefined> => {
    const now = performance.now();
    let f = failures.get(client);
    if (f === undefined || now - f.since > windowMs) f = { count: 0, since: now };
    f.count++;
    failures.set(client, f);
    if (f.count > budget) {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      throw tooMany((windowMs - (now - f.since)) / 1000);
    }
    return undefined;
  };

  return async (ctx) => {
    const header = ctx.get('Authorization');
    const creds = parseBasic(header);
    if (creds === undefined) return undefined;
    const k = createHmac('sha256', cacheKey).update(header).digest('base64');
    const hit = cache.get(k);
    if (hit !== undefined) return hit;
    const client = ctx.ip;
    if (failed.has(k)) return fail(client);
    const f = failures.get(client);
    if (f !== undefined && f.count >= budget && performance.now() - f.since <= windowMs) return fail(client);
    const user = byName.get(creds.user);
    const ok = await check(async () => verifyPassword(creds.password, user?.password ?? (await dummy)));
    if (ok === undefined) {
      // No slot: counted as a failure, so that a client hammering a full queue soon waits too.
      await fail(client);
      throw tooMany(1);
    }
    if (!ok || user === undefined) {
      failed.set(k, true);
      return fail(client);
    }
    const roles = Object.freeze([...user.roles]);
    cache.set(k, roles);
    return roles;
  };
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Enforce roles: reads (GET, HEAD) need `Administrator` or `Supervisor`, everything else
 * `Administrator` (docs/spec.md §9; the stream export is a GET, the other maintenance routes are writes).
 * No credentials → 401 with `WWW-Authenticate`, wrong role → 403.
 */
export function requireRoles(
  authorize: Authorize,
  challenge = 'Basic realm="cxs", charset="UTF-8"',
): Middleware {
  return async (ctx, next) => {
    const roles = await authorize(ctx);
    if (roles === undefined) {
      throw new HttpError('UNAUTHORIZED', 'Authentication required', { 'WWW-Authenticate': challenge });
    }
    // For the request log: the Basic user name, unless the authorize function named the user itself.
    if (typeof ctx.state.user !== 'string') {
      const user = parseBasic(ctx.get('Authorization'))?.user;
      if (user !== undefined) ctx.state.user = user;
    }
    const read = READ_METHODS.has(ctx.method);
    const allowed = roles.includes(ROLES.admin) || (read && roles.includes(ROLES.supervisor));
    if (!allowed) {
      throw new HttpError(
        'FORBIDDEN',
        read
          ? 'This operation needs the Administrator or Supervisor role'
          : 'This operation needs the Administrator role',
      );
    }
    await next();
  };
}
