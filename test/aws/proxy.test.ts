import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy.js';
import { call, campaignView, sentTo, submitCampaign, useAccount } from './support.js';

/*
 * Verification on the AWS host leaves through the egress proxy the deployment names (TAKEDOWN_PROBE_PROXY, the
 * stack's `probes.proxy`): the probed operator sees the proxy, never the account. The proxy and the probed site
 * run on loopback; the site's name resolves there through the test's DNS stub.
 */
let proxy: ConnectProxy;
let site: Server;
let sitePort = 0;

// the probed site sits on loopback: the deployment opens the address guard to it, as a lab would to its own targets
const { account, dns } = useAccount({ probeEnvironment: () => ({ TAKEDOWN_PROBE_PROXY: proxy.url, TAKEDOWN_PROBE_ALLOW_ADDRESSES: '127.0.0.1/32' }) });

beforeAll(async () => {
  proxy = await startConnectProxy({ resolve: (host) => (host.endsWith('.test') ? '127.0.0.1' : undefined) });
  // the kit was removed: the page is gone
  site = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>'));
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  sitePort = (site.address() as AddressInfo).port;
});

afterAll(async () => {
  await proxy?.close();
  await new Promise<void>((resolve) => site?.close(() => resolve()));
});

describe('verification through the egress proxy on the AWS host', () => {
  it('probes the site through the proxy, by name, and closes the case on what it saw', async () => {
    const aws = account();
    dns().set('phish.shop.test', { A: ['127.0.0.1'] });
    const url = `http://phish.shop.test:${sitePort}/kit`;
    const id = await submitCampaign(aws, [`${url},url,KE,phishing kit`], { name: 'Proxy' });
    await aws.waitFor('the notice', () => sentTo(aws, 'abuse@test-registrar.example')[0]);
    const [notice] = (await campaignView(aws, id)).notices;
    expect((await call(aws, 'POST', `/notices/${notice!.id}/answers`, { intent: 'actioned', answerId: 'desk-1' })).status).toBeLessThan(300);
    await aws.waitFor('verified down', async () => ((await campaignView(aws, id)).cases['verified-down'] === 1 ? true : undefined));
    expect(proxy.requests).toContainEqual(expect.objectContaining({ method: 'GET', target: url, connected: true }));
    expect(aws.denials()).toEqual([]);
  });
});
