import { errorOf } from './extract.js';

/**
 * An RDAP client (RFC 9082 queries, RFC 9083 answers) over fetch, polite to every server: a rate limit and a
 * concurrency limit per server, backoff on HTTP 429 with Retry-After, a time-out per request, redirects
 * followed (bounded, loops refused). Every failure becomes an RdapLookupError whose message is one line an
 * analyst can read next to the indicator; nothing here stops a campaign.
 */

export type RdapFailure =
  | 'not-found'
  | 'rate-limited'
  | 'timeout'
  | 'malformed'
  | 'redirect-loop'
  | 'too-many-redirects'
  | 'http-error'
  | 'network'
  | 'no-server';

/** One failed RDAP lookup; `code` says which kind, the message says it for people. */
export class RdapLookupError extends Error {
  constructor(
    readonly code: RdapFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RdapLookupError';
  }
}

export interface RdapClientOptions {
  readonly fetch?: typeof fetch;
  /** per request, ms @default 10000 */
  readonly timeoutMs?: number;
  /** redirects followed for one lookup @default 5 */
  readonly maxRedirects?: number;
  /** tries after a 429 @default 3 */
  readonly retries?: number;
  /** the longest Retry-After honoured; a longer one fails the lookup at once @default 60000 */
  readonly maxRetryAfterMs?: number;
  /** backoff after a 429 without Retry-After: this, doubled each try @default 1000 */
  readonly backoffMs?: number;
  /** at least this long between two requests to one server @default 100 (10 a second) */
  readonly minIntervalMs?: number;
  /** requests in flight to one server @default 4 */
  readonly perServerConcurrency?: number;
  /** the largest answer read @default 4 MiB */
  readonly maxBytes?: number;
  /** failures in a row (time-outs, refused connections, 5xx) after which a server is not asked for a while @default 5 */
  readonly breakerThreshold?: number;
  /** how long a server that keeps failing is left alone @default 60000 */
  readonly breakerCooldownMs?: number;
  readonly userAgent?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Rate and concurrency limit of one server; a 429 pauses every request to it. */
class ServerGate {
  private active = 0;
  private nextAt = 0;
  pausedUntil = 0;
  /** failures in a row, and until when the server is left alone after too many */
  failures = 0;
  downUntil = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly minIntervalMs: number,
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    while (this.active >= this.concurrency) await new Promise<void>((r) => this.waiters.push(r));
    this.active += 1;
    try {
      for (;;) {
        const now = Date.now();
        const slot = Math.max(now, this.nextAt, this.pausedUntil);
        this.nextAt = slot + this.minIntervalMs;
        if (slot > now) await sleep(slot - now);
        // a 429 may have arrived while this one slept
        if (Date.now() >= this.pausedUntil) break;
      }
      return await fn();
    } finally {
      this.active -= 1;
      this.waiters.shift()?.();
    }
  }
}

/** Milliseconds a Retry-After header asks for (delta-seconds or an HTTP date), if it says. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

export interface RdapAnswer {
  readonly json: Record<string, unknown>;
  /** the URL that answered, after redirects */
  readonly url: string;
  /** its server, `host[:port]` */
  readonly server: string;
}

export class RdapClient {
  private readonly fetchFn: typeof fetch;
  private readonly gates = new Map<string, ServerGate>();
  private readonly o: Required<Omit<RdapClientOptions, 'fetch' | 'userAgent'>> & { userAgent: string };
  /** HTTP requests made, redirects and retries included, per server */
  readonly requests = new Map<string, number>();

  constructor(options: RdapClientOptions = {}) {
    this.fetchFn = options.fetch ?? fetch;
    this.o = {
      timeoutMs: options.timeoutMs ?? 10_000,
      maxRedirects: options.maxRedirects ?? 5,
      retries: options.retries ?? 3,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
      backoffMs: options.backoffMs ?? 1000,
      minIntervalMs: options.minIntervalMs ?? 100,
      perServerConcurrency: options.perServerConcurrency ?? 4,
      maxBytes: options.maxBytes ?? 4 * 1024 * 1024,
      breakerThreshold: options.breakerThreshold ?? 5,
      breakerCooldownMs: options.breakerCooldownMs ?? 60_000,
      userAgent: options.userAgent ?? 'takedown-orchestrator (RDAP client)',
    };
  }

  /** Every HTTP request made so far. */
  totalRequests(): number {
    let n = 0;
    for (const v of this.requests.values()) n += v;
    return n;
  }

  private gate(server: string): ServerGate {
    let g = this.gates.get(server);
    if (!g) this.gates.set(server, (g = new ServerGate(this.o.perServerConcurrency, this.o.minIntervalMs)));
    return g;
  }

  /** GETs an RDAP URL and returns its JSON object; RdapLookupError says why not. */
  async get(url: string): Promise<RdapAnswer> {
    const seen = new Set<string>();
    let current = url;
    for (let hop = 0; ; hop++) {
      if (seen.has(current)) throw new RdapLookupError('redirect-loop', `redirect loop between RDAP servers at ${serverOf(current)}`);
      seen.add(current);
      const res = await this.fetchWithRetries(current);
      if (res.status >= 300 && res.status < 400 && res.status !== 304) {
        const location = res.headers.get('location');
        await res.body?.cancel();
        if (!location) throw new RdapLookupError('http-error', `${serverOf(current)} answered ${res.status} without a Location`);
        if (hop >= this.o.maxRedirects) throw new RdapLookupError('too-many-redirects', `more than ${this.o.maxRedirects} redirects from ${serverOf(url)}`);
        current = new URL(location, current).toString();
        continue;
      }
      return this.read(res, current);
    }
  }

  private async fetchWithRetries(url: string): Promise<Response> {
    const server = serverOf(url);
    const gate = this.gate(server);
    for (let attempt = 0; ; attempt++) {
      // a server that is down would cost every remaining indicator a whole time-out
      if (gate.downUntil > Date.now()) {
        throw new RdapLookupError('network', `${server} failed ${this.o.breakerThreshold} times in a row; not asked again until ${new Date(gate.downUntil).toISOString().slice(11, 19)} UTC`);
      }
      let res: Response;
      try {
        res = await gate.run(() => this.fetchOnce(url, server));
      } catch (e) {
        this.failed(gate);
        throw e;
      }
      if (res.status >= 500 && res.status !== 501 && !res.headers.has('retry-after')) this.failed(gate);
      else gate.failures = 0;
      if (res.status !== 429 && !(res.status === 503 && res.headers.has('retry-after'))) return res;
      await res.body?.cancel();
      const asked = retryAfterMs(res.headers.get('retry-after'));
      const wait = asked ?? this.o.backoffMs * 2 ** attempt;
      if (asked !== undefined && asked > this.o.maxRetryAfterMs) {
        throw new RdapLookupError('rate-limited', `${server} answered ${res.status} (rate limited) and asks to wait ${Math.ceil(asked / 1000)} s`);
      }
      if (attempt >= this.o.retries) {
        throw new RdapLookupError('rate-limited', `${server} answered ${res.status} (rate limited) ${attempt + 1} times; gave up`);
      }
      // every request to this server waits, not only this one: that is what the server asked for
      gate.pausedUntil = Math.max(gate.pausedUntil, Date.now() + wait);
    }
  }

  private failed(gate: ServerGate): void {
    gate.failures += 1;
    if (gate.failures >= this.o.breakerThreshold) {
      gate.downUntil = Date.now() + this.o.breakerCooldownMs;
      gate.failures = 0;
    }
  }

  private async fetchOnce(url: string, server: string): Promise<Response> {
    this.requests.set(server, (this.requests.get(server) ?? 0) + 1);
    try {
      return await this.fetchFn(url, {
        redirect: 'manual',
        headers: { accept: 'application/rdap+json, application/json;q=0.8', 'user-agent': this.o.userAgent },
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
    } catch (cause) {
      throw failure(cause, server, this.o.timeoutMs);
    }
  }

  private async read(res: Response, url: string): Promise<RdapAnswer> {
    const server = serverOf(url);
    let text: string;
    try {
      text = await readLimited(res, this.o.maxBytes);
    } catch (cause) {
      if (cause instanceof RdapLookupError) throw cause;
      throw failure(cause, server, this.o.timeoutMs);
    }
    let json: unknown;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      json = undefined;
    }
    if (res.status === 404) throw new RdapLookupError('not-found', `${server} has no RDAP object for this (404)`);
    if (!res.ok) {
      const e = errorOf(json);
      const detail = [e?.title, e?.description].filter(Boolean).join(': ');
      throw new RdapLookupError('http-error', `${server} answered ${res.status}${detail ? ` (${clip(detail)})` : ''}`);
    }
    if (json === undefined) throw new RdapLookupError('malformed', `${server} answered with malformed JSON`);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new RdapLookupError('malformed', `${server} answered with JSON that is not an RDAP object`);
    }
    const e = errorOf(json);
    if (e) throw new RdapLookupError('http-error', `${server} answered an RDAP error ${e.errorCode ?? ''}${e.title ? ` (${clip(e.title)})` : ''}`.replace(/ {2}/, ' '));
    return { json: json as Record<string, unknown>, url, server };
  }
}

async function readLimited(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new RdapLookupError('malformed', `${serverOf(res.url || 'http://unknown/')} answered more than ${maxBytes} bytes`);
  }
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new RdapLookupError('malformed', `an RDAP answer was larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function failure(cause: unknown, server: string, timeoutMs: number): RdapLookupError {
  const name = (cause as Error)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new RdapLookupError('timeout', `${server} did not answer within ${timeoutMs / 1000} s`, { cause });
  }
  const code = ((cause as { cause?: { code?: string } })?.cause?.code ?? (cause as { code?: string })?.code) || 'connection failed';
  return new RdapLookupError('network', `${server} could not be reached (${code})`, { cause });
}

/** `host[:port]` of a URL: what rate limits are kept per, and what messages name. */
export function serverOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an RDAP server';
  }
}

function clip(text: string, max = 120): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}
