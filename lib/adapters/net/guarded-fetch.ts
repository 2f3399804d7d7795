import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { AddressGuard, AddressRefusedError } from './address-guard.js';

/**
 * A `fetch` for requests to URLs that others name (RDAP servers a registry's answer points at, a party's
 * security.txt and where it redirects): every connection, the first and each redirect's, goes only to an address
 * the AddressGuard lets through, and to the very address it checked, since the check is the lookup net.connect
 * uses. Enough of fetch for those clients: GET and HEAD, headers, a signal, `redirect` follow/manual/error.
 */

export interface GuardedFetchOptions {
  /** @default a guard with nothing allowed beyond the public internet */
  readonly guard?: AddressGuard;
  /** resolves a name to its addresses (tests answer from a table) @default the system resolver (getaddrinfo) */
  readonly resolve?: (hostname: string) => Promise<string[]>;
  /** redirects followed with `redirect: 'follow'` @default 5 */
  readonly maxRedirects?: number;
}

const NULL_BODY = new Set([101, 204, 205, 304]);

async function systemResolve(hostname: string): Promise<string[]> {
  return (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => a.address);
}

/** A fetch whose connections the guard checks; see the module comment. */
export function guardedFetch(options: GuardedFetchOptions = {}): typeof fetch {
  const guard = options.guard ?? new AddressGuard();
  const resolve = options.resolve ?? systemResolve;
  const maxRedirects = options.maxRedirects ?? 5;

  const once = (url: URL, init: RequestInit | undefined): Promise<Response> =>
    new Promise<Response>((done, fail) => {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        fail(new TypeError(`fetch: ${url.protocol} is not fetched`));
        return;
      }
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
      if (isIP(host) !== 0) {
        const refused = guard.refusal(host, port);
        if (refused !== undefined) {
          fail(new TypeError('fetch failed', { cause: new AddressRefusedError(refused) }));
          return;
        }
      }
      const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
        resolve(hostname).then(
          (addresses) => {
            const allowed = addresses.filter((a) => guard.refusal(a, port) === undefined);
            if (allowed.length === 0) {
              const why = addresses.length ? guard.refusal(addresses[0]!, port)! : `${hostname} does not resolve`;
              callback(new AddressRefusedError(`${hostname} resolves to ${why}`) as NodeJS.ErrnoException, '', 0);
              return;
            }
            const chosen = allowed[0]!;
            if ((lookupOptions as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: chosen, family: isIP(chosen) }]);
            else callback(null, chosen, isIP(chosen));
          },
          (err: unknown) => callback(err as NodeJS.ErrnoException, '', 0),
        );
      };
      const headers = Object.fromEntries(new Headers(init?.headers).entries());
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)({
        host,
        port,
        path: `${url.pathname}${url.search}`,
        method: init?.method ?? 'GET',
        headers,
        lookup,
        // one connection per request: a kept-alive socket would skip the check of the next request's address
        agent: false,
        ...(init?.signal ? { signal: init.signal } : {}),
      });
      req.once('socket', (socket: Socket) => {
        socket.once('connect', () => {
          // what was reached, not what was meant: the last word on where the request goes
          const reached = socket.remoteAddress;
          const refused = reached === undefined ? 'the connected address is unknown' : guard.refusal(reached, port);
          if (refused !== undefined) req.destroy(new AddressRefusedError(refused));
        });
      });
      req.once('error', (err) => fail(new TypeError('fetch failed', { cause: err })));
      req.once('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(name, v);
        }
        const body = NULL_BODY.has(status) || init?.method === 'HEAD' ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
        if (body === null) res.resume();
        const response = new Response(body, { status, statusText: res.statusMessage ?? '', headers: responseHeaders });
        Object.defineProperty(response, 'url', { value: url.href });
        done(response);
      });
      req.end();
    });

  return (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    let url = new URL(input instanceof Request ? input.url : String(input));
    const mode = init?.redirect ?? 'follow';
    for (let hop = 0; ; hop++) {
      const res = await once(url, init);
      const location = res.headers.get('location');
      if (mode === 'manual' || res.status < 300 || res.status >= 400 || res.status === 304 || location === null) return res;
      await res.body?.cancel();
      if (mode === 'error') throw new TypeError('fetch failed', { cause: new Error('redirect') });
      if (hop >= maxRedirects) throw new TypeError('fetch failed', { cause: new Error('too many redirects') });
      url = new URL(location, url);
    }
  }) as typeof fetch;
}
