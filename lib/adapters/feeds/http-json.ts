import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { TakedownError } from '../../core/errors.js';

/**
 * A small JSON client for the threat-intelligence servers the orchestrator reads and writes (MISP, TAXII). TLS
 * certificates are verified, always: a private CA is given as `ca`, never by switching verification off.
 * Redirects are not followed (a redirect could carry the credentials to another host). Answers are capped in
 * size and time. Errors name the server, the path and the status, never a credential or the body.
 */

/** A request to a feed server failed; `status` is the HTTP status when one came back. */
export class FeedHttpError extends TakedownError {
  readonly status?: number;
  /** what the server said, when its error body had a message field (MISP `message`, TAXII `title`/`description`) */
  readonly serverMessage?: string;
  constructor(message: string, options: { status?: number; serverMessage?: string; cause?: unknown } = {}) {
    super('FEED.HTTP', message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FeedHttpError';
    this.status = options.status;
    this.serverMessage = options.serverMessage;
  }
}

export interface HttpJsonOptions {
  /** the server's base URL (http: only for loopback tests and labs; https: in use) */
  readonly baseUrl: string;
  /** sent with every request (the credentials live here) */
  readonly headers?: Readonly<Record<string, string>>;
  /** PEM text of the CA(s) that sign the server's certificate, when it is not a public one */
  readonly ca?: string;
  /** @default 30000 */
  readonly timeoutMs?: number;
  /** the largest answer read, in bytes @default 64 MB */
  readonly maxBytes?: number;
}

export interface JsonAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly json: unknown;
}

const serverMessageOf = (json: unknown): string | undefined => {
  if (typeof json !== 'object' || json === null) return undefined;
  const j = json as Record<string, unknown>;
  const parts = [j.message, j.title, j.description, j.errors].filter((v): v is string => typeof v === 'string' && v.length > 0);
  return parts.length ? parts.join(': ').slice(0, 300) : undefined;
};

/** A JSON-over-HTTP(S) client for one server. */
export class HttpJsonClient {
  private readonly base: URL;

  constructor(private readonly options: HttpJsonOptions) {
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') throw new FeedHttpError(`${options.baseUrl}: only http and https URLs`);
    if (this.base.username || this.base.password) throw new FeedHttpError(`${this.base.host}: put credentials in the environment, not in the URL`);
  }

  /** The server, as errors and logs name it. */
  get server(): string {
    return this.base.host;
  }

  /** A path under the base URL (or an absolute URL on the same origin), with the query's defined values. */
  url(path: string, query: Readonly<Record<string, string | number | undefined>> = {}): URL {
    const url = new URL(path.replace(/^\//, ''), this.base);
    if (url.origin !== this.base.origin) throw new FeedHttpError(`${this.server}: refusing to follow a link to another server (${url.host})`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /**
   * A request whose answer is JSON. A 2xx answer resolves; anything else rejects with FeedHttpError, except the
   * statuses in `accept`, which resolve too (a caller that reads a refusal's body).
   */
  request(method: 'GET' | 'POST', url: URL, options: { body?: unknown; headers?: Readonly<Record<string, string>>; accept?: readonly number[] } = {}): Promise<JsonAnswer> {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const where = `${method} ${this.server}${url.pathname}`;
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const maxBytes = this.options.maxBytes ?? 64 * 1024 * 1024;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<JsonAnswer>((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          headers: {
            ...this.options.headers,
            ...options.headers,
            ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
          },
          // explicit, so no environment variable or default elsewhere can turn verification off
          ...(url.protocol === 'https:' ? { rejectUnauthorized: true, ...(this.options.ca ? { ca: this.options.ca } : {}) } : {}),
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              req.destroy(new FeedHttpError(`${where}: the answer is larger than ${maxBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', (e) => reject(new FeedHttpError(`${where}: the answer broke off (${(e as NodeJS.ErrnoException).code ?? e.name})`, { cause: e })));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text.length ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            const accepted = (status >= 200 && status < 300) || (options.accept ?? []).includes(status);
            if (!accepted) {
              const said = serverMessageOf(json);
              const hint = status >= 300 && status < 400 ? ' (a redirect: give the URL it points to)' : status === 401 || status === 403 ? ' (check the credentials and their permissions)' : '';
              reject(new FeedHttpError(`${where} answered ${status}${said ? `: ${said}` : ''}${hint}`, { status, ...(said ? { serverMessage: said } : {}) }));
              return;
            }
            if (json === undefined && text.length) {
              reject(new FeedHttpError(`${where} answered ${status} with something that is not JSON`, { status }));
              return;
            }
            resolve({ status, headers: res.headers, json });
          });
        },
      );
      req.on('timeout', () => req.destroy(new FeedHttpError(`${where}: no answer within ${timeoutMs} ms`)));
      req.on('error', (e) => {
        if (e instanceof FeedHttpError) return reject(e);
        const code = (e as NodeJS.ErrnoException).code ?? e.name;
        const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code);
        reject(new FeedHttpError(`${where}: ${code}${tls ? ' (the server\'s certificate is not trusted; give its CA with the --*-ca option or the *_CA variable)' : ''}`, { cause: e }));
      });
      if (body !== undefined) req.write(body);
      req.end();
    });
  }
}
