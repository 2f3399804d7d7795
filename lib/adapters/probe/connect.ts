import { request as httpRequest } from 'node:http';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { ConnectFailure, ProbePhase } from '../../core/verify/index.js';
import type { AddressGuard } from '../net/address-guard.js';

/**
 * Connections for probes: straight to an address, or through the egress proxy with CONNECT, then TLS when the
 * probe needs it. Every failure becomes a ConnectFailure the core reads into a verdict.
 */

/** The egress proxy: an HTTP proxy that tunnels with CONNECT and takes absolute-form requests. */
export interface ProxyConfig {
  readonly host: string;
  readonly port: number;
  /** `Basic ...` from the proxy URL's user and password; never logged */
  readonly authorization?: string;
}

/** A connection that did not come up, with what the core needs to judge it. */
export class ConnectError extends Error {
  readonly failure: ConnectFailure;
  constructor(failure: ConnectFailure) {
    super(`connection failed: ${failure.code} during ${failure.phase}`);
    this.name = 'ConnectError';
    this.failure = failure;
  }
}

/** The failure of a system error at `phase`: only the code is kept, never the message. */
export function classifyError(err: unknown, phase: ProbePhase): ConnectFailure {
  if (err instanceof ConnectError) return err.failure;
  const code = errorCode(err);
  if (phase === 'proxy') return { kind: 'error', code, phase };
  switch (code) {
    case 'ECONNREFUSED':
      return { kind: 'refused', code, phase };
    // a reset before the connection is up is a refusal by a firewall or a closed port
    case 'ECONNRESET':
      return phase === 'connect' ? { kind: 'refused', code, phase } : { kind: 'error', code, phase };
    case 'EHOSTUNREACH':
      return { kind: 'unreachable', code, phase };
    case 'ETIMEDOUT':
      return { kind: 'timeout', code, phase };
    default:
      return { kind: 'error', code, phase };
  }
}

/** A short code for an error: its system code or its name, never its message. */
export function errorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_:.-]{1,40}$/i.test(code)) return code;
    const name = (err as { name?: unknown }).name;
    if (typeof name === 'string' && name.length <= 40) return name;
  }
  return 'EUNKNOWN';
}

/** The failure of a connection the address guard refused: never tried, so not evidence either way. */
export function refusedAddress(reason: string): ConnectError {
  return new ConnectError({ kind: 'error', code: 'ADDRESS_REFUSED', phase: 'connect', refused: reason });
}

/**
 * Opens a TCP connection to an address; `phase` says whose connection it is (the target's or the proxy's). With a
 * guard, a target's address is checked before the connection and the address actually connected to after it, so
 * what was checked is what was reached.
 */
export function connectTcp(host: string, port: number, timeoutMs: number, phase: 'connect' | 'proxy' = 'connect', guard?: AddressGuard): Promise<Socket> {
  const refused = guard && phase === 'connect' ? guard.refusal(host, port) : undefined;
  if (refused !== undefined) return Promise.reject(refusedAddress(refused));
  return new Promise((resolve, reject) => {
    // an address, never a name: a name would be resolved again here, after the check
    const socket = netConnect({ host, port, ...(guard && phase === 'connect' ? { lookup: pinnedLookup(host) } : {}) });
    const fail = (failure: ConnectFailure) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ConnectError(failure));
    };
    const onError = (err: unknown) => fail(classifyError(err, phase));
    const timer = setTimeout(() => fail(phase === 'proxy' ? { kind: 'error', code: 'PROXY_TIMEOUT', phase } : { kind: 'timeout', code: 'ETIMEDOUT', phase }), timeoutMs);
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      const reached = socket.remoteAddress;
      const after = guard && phase === 'connect' ? (reached === undefined ? 'the connected address is unknown' : guard.refusal(reached, port)) : undefined;
      if (after !== undefined) {
        socket.destroy();
        reject(refusedAddress(after));
        return;
      }
      resolve(socket);
    });
  });
}

/** A lookup that answers only the address it is given: net.connect then cannot reach anything else. */
function pinnedLookup(address: string): (hostname: string, options: unknown, callback: (err: Error | null, address: string, family: number) => void) => void {
  return (_hostname, _options, callback) => {
    const family = isIP(address);
    if (family === 0) callback(Object.assign(new Error('not an address'), { code: 'ADDRESS_REFUSED' }), '', 0);
    else callback(null, address, family);
  };
}

/** Starts TLS over a connected socket. The certificate is checked and reported, not required (see tlsAuthorized). */
export function startTls(socket: Socket, host: string, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tlsConnect({
      socket,
      // SNI takes a name only; an address as servername is deprecated
      ...(isIP(host) === 0 ? { servername: host } : {}),
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    const fail = (failure: ConnectFailure) => {
      clearTimeout(timer);
      secure.destroy();
      socket.destroy();
      reject(new ConnectError(failure));
    };
    const onError = (err: unknown) => fail({ ...classifyError(err, 'tls'), kind: 'error' });
    const timer = setTimeout(() => fail({ kind: 'timeout', code: 'ETIMEDOUT', phase: 'tls' }), timeoutMs);
    secure.once('error', onError);
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      secure.removeListener('error', onError);
      resolve(secure);
    });
  });
}

/** `host:port` as a request target, with brackets around an IPv6 address. */
export function authority(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/**
 * Opens a tunnel to host:port through the proxy. A refusal by the proxy is read from its RFC 9209 Proxy-Status
 * `error` when it gives one, else from the status: 502/503 "could not connect" (read as refused), 504 "no answer
 * in time"; anything else (403, 407: the proxy refused us) proves nothing about the target.
 */
export async function connectViaProxy(proxy: ProxyConfig, host: string, port: number, timeoutMs: number, userAgent: string): Promise<Socket> {
  const started = performance.now();
  const socket = await connectTcp(proxy.host, proxy.port, timeoutMs, 'proxy');
  const left = Math.max(1, timeoutMs - (performance.now() - started));
  const target = authority(host, port);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      method: 'CONNECT',
      path: target,
      setHost: false,
      headers: {
        Host: target,
        'User-Agent': userAgent,
        ...(proxy.authorization ? { 'Proxy-Authorization': proxy.authorization } : {}),
      },
      createConnection: () => socket,
    });
    const fail = (failure: ConnectFailure) => {
      clearTimeout(timer);
      req.destroy();
      socket.destroy();
      reject(new ConnectError(failure));
    };
    const timer = setTimeout(() => fail({ kind: 'error', code: 'PROXY_TIMEOUT', phase: 'proxy' }), left);
    // Node hands every answer to a CONNECT to this event, whatever its status
    req.once('connect', (res, tunnel, head) => {
      clearTimeout(timer);
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        if (head.length > 0) tunnel.unshift(head);
        resolve(tunnel);
        return;
      }
      const field = res.headers['proxy-status'];
      fail(proxyFailure(status, Array.isArray(field) ? field.join(', ') : field));
    });
    req.once('error', (err) => fail({ ...classifyError(err, 'proxy') }));
    req.end();
  });
}

/** The failure a proxy reports with an error status (and maybe a Proxy-Status header). */
export function proxyFailure(status: number, proxyStatus: string | undefined): ConnectFailure {
  const error = proxyStatus === undefined ? undefined : proxyStatusError(proxyStatus);
  if (error !== undefined) {
    const code = `proxy:${error}`;
    switch (error) {
      case 'connection_refused':
        return { kind: 'refused', code, phase: 'connect', byProxy: true };
      case 'connection_timeout':
        return { kind: 'timeout', code, phase: 'connect', byProxy: true };
      case 'destination_ip_unroutable':
        return { kind: 'unreachable', code, phase: 'connect', byProxy: true };
      default:
        return { kind: 'error', code, phase: 'proxy', byProxy: true };
    }
  }
  const code = `PROXY_${status}`;
  if (status === 502 || status === 503) return { kind: 'refused', code, phase: 'connect', byProxy: true };
  if (status === 504) return { kind: 'timeout', code, phase: 'connect', byProxy: true };
  return { kind: 'error', code, phase: 'proxy', byProxy: true };
}

/** The `error` parameter of the last member of a Proxy-Status field (the proxy nearest to us speaks last). */
export function proxyStatusError(field: string): string | undefined {
  const members = field.split(',');
  const last = members[members.length - 1] ?? '';
  const m = /;\s*error\s*=\s*"?([a-z0-9_]+)"?/i.exec(last);
  return m ? m[1]!.toLowerCase() : undefined;
}
