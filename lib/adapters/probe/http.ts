import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { isIP, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import {
  detectParked,
  dnsOutcome,
  failureOutcome,
  httpOutcome,
  PARKED_SCAN_BYTES,
  type ProbeOutcome,
  type SinkholeList,
} from '../../core/verify/index.js';
import { classifyError, connectTcp, connectViaProxy, ConnectError, proxyFailure, proxyStatusError, refusedAddress, startTls, type ProxyConfig } from './connect.js';
import type { ProbeDns } from './dns.js';
import type { AddressGuard } from '../net/address-guard.js';

/** What a page fetch needs from the prober. */
export interface FetchSettings {
  readonly dns: ProbeDns;
  /** where a hop may connect: checked for the first request, each redirect and each DNS answer */
  readonly guard: AddressGuard;
  readonly sinkholes: SinkholeList;
  readonly proxy?: ProxyConfig;
  /** per request (one hop of a redirect chain): connection, TLS, answer and body together */
  readonly timeoutMs: number;
  readonly userAgent: string;
  readonly maxBodyBytes: number;
  readonly maxRedirects: number;
}

interface HopAnswer {
  readonly status: number;
  readonly location?: string;
  readonly proxyStatus?: string;
  readonly bodySha256?: string;
  readonly bodyBytes?: number;
  readonly bodyTruncated?: boolean;
  /** the beginning of the body, for the parked-page detector */
  readonly text?: string;
  readonly tlsAuthorized?: boolean;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches a URL the way a victim's browser would reach it: resolves its host (NXDOMAIN and sinkholes are verdicts
 * of their own), follows redirects up to the limit, hashes the body of the last answer. `attempt` picks which of
 * a name's addresses is tried, so a retry tries the next one.
 */
export async function fetchPage(url: string, s: FetchSettings, attempt: number, evidenceSha256?: string): Promise<ProbeOutcome> {
  let current = new URL(url);
  const urls: string[] = [];
  for (let redirects = 0; ; redirects++) {
    urls.push(current.href);
    const host = current.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(current.port) || (current.protocol === 'https:' ? 443 : 80);
    let address = host;
    if (isIP(host) === 0) {
      const { a, aaaa } = await s.dns.lookup(host);
      const resolved = dnsOutcome(host, a, aaaa, s.sinkholes);
      if (!resolved.live) return redirects === 0 ? resolved : { ...resolved, detail: `redirected to ${current.origin}: ${resolved.detail}` };
      // only the addresses the guard lets through are tried, and the connection goes to the one checked
      const addresses = resolved.evidence.addresses ?? [];
      const allowed = addresses.filter((x) => s.guard.refusal(x, port) === undefined);
      if (allowed.length === 0) {
        return failureOutcome(redirects === 0 ? current.origin : `redirected to ${current.origin}`, refusedAddress(`${host} resolves to ${s.guard.refusal(addresses[0]!, port)}`).failure);
      }
      address = allowed[(attempt - 1) % allowed.length]!;
    } else if (s.proxy) {
      // through the proxy our own connection goes to the proxy: the target's address is checked here instead
      const refused = s.guard.refusal(host, port);
      if (refused !== undefined) return failureOutcome(redirects === 0 ? current.origin : `redirected to ${current.origin}`, refusedAddress(refused).failure);
    }
    let answer: HopAnswer;
    try {
      answer = await fetchOnce(current, address, s);
    } catch (err) {
      return failureOutcome(redirects === 0 || !(err instanceof ConnectError) || err.failure.refused === undefined ? current.origin : `redirected to ${current.origin}`, classifyError(err, 'response'));
    }
    const proxyError = answer.proxyStatus === undefined ? undefined : proxyStatusError(answer.proxyStatus);
    if (s.proxy && proxyError !== undefined) return failureOutcome(current.origin, proxyFailure(answer.status, answer.proxyStatus));
    const next = REDIRECTS.has(answer.status) && answer.location !== undefined ? nextUrl(current, answer.location) : undefined;
    if (next && redirects < s.maxRedirects) {
      current = next;
      continue;
    }
    return httpOutcome({
      url: urls[0]!,
      status: answer.status,
      finalUrl: current.href,
      redirects,
      ...(next ? { redirectLimit: true } : {}),
      ...(answer.bodySha256 !== undefined ? { bodySha256: answer.bodySha256, bodyBytes: answer.bodyBytes ?? 0 } : {}),
      ...(answer.bodyTruncated ? { bodyTruncated: true } : {}),
      ...(evidenceSha256 !== undefined ? { evidenceSha256 } : {}),
      ...(answer.tlsAuthorized !== undefined ? { tlsAuthorized: answer.tlsAuthorized } : {}),
      ...withParked(detectParked({ urls, ...(answer.text !== undefined ? { body: answer.text } : {}) })),
    });
  }
}

function withParked(parkedBy: string | undefined): { parkedBy?: string } {
  return parkedBy === undefined ? {} : { parkedBy };
}

/** Where a redirect goes, when it goes to a web URL. */
function nextUrl(from: URL, location: string): URL | undefined {
  try {
    const next = new URL(location, from);
    next.hash = '';
    return next.protocol === 'http:' || next.protocol === 'https:' ? next : undefined;
  } catch {
    return undefined;
  }
}

/** One request: connect (straight to `address`, or through the proxy), send, read the answer. */
async function fetchOnce(url: URL, address: string, s: FetchSettings): Promise<HopAnswer> {
  const started = performance.now();
  const left = () => Math.max(1, s.timeoutMs - (performance.now() - started));
  const https = url.protocol === 'https:';
  const port = Number(url.port) || (https ? 443 : 80);
  const name = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let socket: Socket;
  let path = `${url.pathname}${url.search}`;
  const headers: Record<string, string> = {
    Host: url.host,
    'User-Agent': s.userAgent,
    Accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
    // the hash is of the page itself: ask for it unencoded (and decode it when a server encodes anyway)
    'Accept-Encoding': 'identity',
    Connection: 'close',
  };
  let tlsAuthorized: boolean | undefined;
  if (s.proxy && !https) {
    // plain HTTP goes to the proxy as an absolute-form request: many proxies tunnel only to 443
    socket = await connectTcp(s.proxy.host, s.proxy.port, left(), 'proxy');
    path = `${url.protocol}//${url.host}${path}`;
    if (s.proxy.authorization) headers['Proxy-Authorization'] = s.proxy.authorization;
  } else {
    // through the proxy the name goes in the CONNECT, so the proxy (not we) connects to it
    const raw = s.proxy ? await connectViaProxy(s.proxy, name, port, left(), s.userAgent) : await connectTcp(address, port, left(), 'connect', s.guard);
    if (https) {
      const secure: TLSSocket = await startTls(raw, name, left());
      tlsAuthorized = secure.authorized;
      socket = secure;
    } else socket = raw;
  }
  const answer = await exchange(socket, path, headers, left(), s.maxBodyBytes);
  return tlsAuthorized === undefined ? answer : { ...answer, tlsAuthorized };
}

/** Sends the request over a connected socket and reads the answer; the socket is closed after. */
function exchange(socket: Socket, path: string, headers: Record<string, string>, timeoutMs: number, maxBodyBytes: number): Promise<HopAnswer> {
  return new Promise((resolve, reject) => {
    let phase: 'response' | 'body' = 'response';
    let settle: ((body: { truncated: boolean }) => void) | undefined;
    const req = httpRequest({ method: 'GET', path, headers, setHost: false, createConnection: () => socket });
    const timer = setTimeout(() => {
      // a slow body still says the page is there: keep what came
      if (phase === 'body' && settle) settle({ truncated: true });
      else fail(new ConnectError({ kind: 'timeout', code: 'ETIMEDOUT', phase }));
    }, timeoutMs);
    const fail = (err: unknown) => {
      clearTimeout(timer);
      req.destroy();
      socket.destroy();
      reject(err instanceof ConnectError ? err : new ConnectError(classifyError(err, phase)));
    };
    req.once('error', fail);
    req.once('response', (res: IncomingMessage) => {
      phase = 'body';
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      const proxyStatus = joined(res.headers['proxy-status']);
      const head = { status, ...(location !== undefined ? { location } : {}), ...(proxyStatus !== undefined ? { proxyStatus } : {}) };
      if (REDIRECTS.has(status) && location !== undefined) {
        clearTimeout(timer);
        res.resume();
        socket.destroy();
        resolve(head);
        return;
      }
      const hash = createHash('sha256');
      let bytes = 0;
      const kept: Buffer[] = [];
      let keptBytes = 0;
      let done = false;
      settle = ({ truncated }) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        res.destroy();
        socket.destroy();
        resolve({
          ...head,
          bodySha256: hash.digest('hex'),
          bodyBytes: bytes,
          ...(truncated ? { bodyTruncated: true } : {}),
          text: Buffer.concat(kept).toString('latin1'),
        });
      };
      const body = decoded(res);
      body.on('data', (chunk: Buffer) => {
        if (done) return;
        const take = chunk.subarray(0, Math.max(0, maxBodyBytes - bytes));
        hash.update(take);
        bytes += take.length;
        if (keptBytes < PARKED_SCAN_BYTES) {
          const part = take.subarray(0, PARKED_SCAN_BYTES - keptBytes);
          kept.push(part);
          keptBytes += part.length;
        }
        if (take.length < chunk.length) settle!({ truncated: true });
      });
      body.once('end', () => settle!({ truncated: false }));
      // a body cut short (reset, bad compression) is still a body: report what came, as truncated
      body.on('error', () => settle!({ truncated: true }));
      body.once('close', () => settle!({ truncated: true }));
    });
    req.end();
  });
}

function decoded(res: IncomingMessage): Readable {
  const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  if (!decoder) return res;
  res.on('error', (err) => decoder.destroy(err));
  return res.pipe(decoder);
}

function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
