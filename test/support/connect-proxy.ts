import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/**
 * A tiny HTTP proxy on loopback for tests: CONNECT tunnels and absolute-form requests, each recorded. A target it
 * cannot reach gets 502 with an RFC 9209 Proxy-Status naming why, as a proxy would say it.
 */

export interface ProxiedRequest {
  readonly method: string;
  /** `host:port` of a CONNECT, the absolute URL of a request */
  readonly target: string;
  readonly userAgent?: string;
  readonly proxyAuthorization?: string;
  /** whether the proxy reached the target */
  readonly connected: boolean;
}

export interface ConnectProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly requests: ProxiedRequest[];
  close(): Promise<void>;
}

/** Starts the proxy on 127.0.0.1 on a free port; `resolve` maps a name to the address it connects to (never DNS). */
export async function startConnectProxy(opts: { resolve?: (host: string) => string | undefined } = {}): Promise<ConnectProxy> {
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const addressOf = (host: string) => opts.resolve?.(host) ?? host.replace(/^\[(.*)\]$/, '$1');
  const failure = (err: NodeJS.ErrnoException) =>
    err.code === 'ECONNREFUSED' ? 'connection_refused' : err.code === 'ETIMEDOUT' ? 'connection_timeout' : 'destination_unavailable';

  const server: Server = createServer((req, res) => {
    const target = req.url ?? '';
    const seen = { method: req.method ?? '', target, userAgent: req.headers['user-agent'], proxyAuthorization: req.headers['proxy-authorization'] };
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      requests.push({ ...seen, connected: false });
      res.writeHead(400).end();
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = request(
      { host: addressOf(url.hostname), port: Number(url.port) || 80, method: req.method, path: `${url.pathname}${url.search}`, headers },
      (answer) => {
        requests.push({ ...seen, connected: true });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      requests.push({ ...seen, connected: false });
      if (!res.headersSent) res.writeHead(502, { 'Proxy-Status': `test-proxy; error=${failure(err)}` }).end();
    });
    req.pipe(upstream);
  });

  server.on('connect', (req, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    const seen = { method: 'CONNECT', target, userAgent: req.headers['user-agent'], proxyAuthorization: req.headers['proxy-authorization'] };
    const colon = target.lastIndexOf(':');
    const host = addressOf(target.slice(0, colon));
    const port = Number(target.slice(colon + 1));
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const upstream = connect({ host, port });
    let tunnelled = false;
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.once('connect', () => {
      tunnelled = true;
      requests.push({ ...seen, connected: true });
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (!tunnelled) {
        requests.push({ ...seen, connected: false });
        client.end(`HTTP/1.1 502 Bad Gateway\r\nProxy-Status: test-proxy; error=${failure(err)}\r\nContent-Length: 0\r\n\r\n`);
      } else client.destroy();
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
