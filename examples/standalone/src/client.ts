/** A minimal Context Services client on plain `fetch`: tenant header, HTTP Basic, JSON in and out. */

/** HTTP Basic credentials of a user of the server's users file. */
export interface Credentials {
  username: string;
  password: string;
}

/** One request: path under the base path, tenant (`ContactCenterId`), user, JSON body. */
export interface CallOptions {
  tenant?: string;
  as?: Credentials;
  body?: unknown;
}

/** An answer: status, `Location` header, parsed JSON body (undefined when empty). */
export interface Reply {
  status: number;
  location: string | null;
  wwwAuthenticate: string | null;
  json: unknown;
}

/** The documented base path of the Context Services routes. */
export const BASE_PATH = '/genesys/1/cs';

/** Send `method path` to the server at `origin` (e.g. `http://127.0.0.1:8080`). */
export async function call(
  origin: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.tenant !== undefined) headers.ContactCenterId = options.tenant;
  if (options.as !== undefined) {
    const token = Buffer.from(`${options.as.username}:${options.as.password}`).toString('base64');
    headers.Authorization = `Basic ${token}`;
  }
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${origin}${BASE_PATH}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    location: res.headers.get('location'),
    wwwAuthenticate: res.headers.get('www-authenticate'),
    json: text === '' ? undefined : JSON.parse(text),
  };
}
