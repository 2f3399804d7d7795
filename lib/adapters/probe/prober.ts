import { z } from 'zod';
import { InvalidInputError } from '../../core/errors.js';
import {
  DEFAULT_SINKHOLES,
  dnsOutcome,
  parseSinkholes,
  planProbe,
  shouldRetry,
  tcpOutcome,
  type ConnectResult,
  type ProbeOutcome,
  type ProbePlan,
  type ProbeRequest,
  type ProbeResult,
  type Prober,
  type SinkholeList,
} from '../../core/verify/index.js';
import { classifyError, connectTcp, connectViaProxy, errorCode, refusedAddress, type ProxyConfig } from './connect.js';
import { ProbeDns } from './dns.js';
import { fetchPage } from './http.js';
import { DnsServer, parseProxyUrl, PROBE_LIMITS, UserAgent } from './settings.js';
import { HostSpacing } from './spacing.js';
import { AddressGuard } from '../net/address-guard.js';

export { DEFAULT_SINKHOLES } from '../../core/verify/index.js';
export { proberSettingsFromEnv, type ProberSettings } from './settings.js';

/** How the real prober reaches the network. */
export interface ProberOptions {
  /**
   * DNS servers (`192.0.2.53`, `127.0.0.1:5353`, `[2001:db8::53]:53`); default: the system's. DNS queries cannot
   * go through the HTTP proxy: they go to these servers from this host, so choose servers that do not give the
   * coordinator away when that matters.
   */
  readonly dnsServers?: readonly string[];
  /** addresses and CIDRs a name is pointed at when it is taken over; @default DEFAULT_SINKHOLES */
  readonly sinkholes?: readonly string[];
  /** per DNS query, connection attempt or HTTP request (one hop); @default 5000 */
  readonly timeoutMs?: number;
  /** further attempts after a failure that may pass (time-out, refusal, error), at most 3; @default 1 */
  readonly retries?: number;
  /**
   * @default a current desktop browser's (BROWSER_USER_AGENT): a kit that cloaks from scanners must not be told it
   * is being verified; `identify` sends the tool's own instead
   */
  readonly userAgent?: string;
  /** send `takedown-orchestrator-probe (…; +<contactUrl>)`, naming the tool, when no userAgent is given @default false */
  readonly identify?: boolean;
  /** where the operator of a probed server can read what the probes are and who sends them (with `identify`) */
  readonly contactUrl?: string;
  /**
   * CIDRs probes may reach although the address guard refuses them (loopback, private, link-local ...): the
   * loopback servers of tests and of the offline demo. Nothing by default; the host's own listeners stay refused.
   */
  readonly allowAddresses?: readonly string[];
  /**
   * the probes (and retries) of one host start at least this long after the previous one ended; DNS-only probes
   * are not spaced, as they ask the resolver, not the host; @default 1000
   */
  readonly perHostIntervalMs?: number;
  /**
   * the egress, `http://[user:password@]host:port`: HTTP probes go through it (absolute-form for http, CONNECT
   * for https), TCP probes through CONNECT, so the probed server does not see the coordinator's address
   */
  readonly proxy?: string;
  /** bytes of a body read and hashed at most; @default 2 MiB */
  readonly maxBodyBytes?: number;
  /** @default 5 */
  readonly maxRedirects?: number;
  /** the time stamped on results; @default the system clock */
  readonly now?: () => Date;
}

const OptionsSchema = z.object({
  dnsServers: z.array(DnsServer).optional(),
  sinkholes: z.array(z.string()).optional(),
  timeoutMs: z.number().int().min(PROBE_LIMITS.timeoutMs.min).max(PROBE_LIMITS.timeoutMs.max).optional(),
  retries: z.number().int().min(PROBE_LIMITS.retries.min).max(PROBE_LIMITS.retries.max).optional(),
  userAgent: UserAgent.optional(),
  identify: z.boolean().optional(),
  allowAddresses: z.array(z.string().refine(isCidr, 'an IP address or a CIDR')).optional(),
  contactUrl: z.url({ protocol: /^https?$/ }).optional(),
  perHostIntervalMs: z.number().int().min(PROBE_LIMITS.perHostIntervalMs.min).max(PROBE_LIMITS.perHostIntervalMs.max).optional(),
  proxy: z.string().optional(),
  maxBodyBytes: z.number().int().min(PROBE_LIMITS.maxBodyBytes.min).max(PROBE_LIMITS.maxBodyBytes.max).optional(),
  maxRedirects: z.number().int().min(PROBE_LIMITS.maxRedirects.min).max(PROBE_LIMITS.maxRedirects.max).optional(),
});

function isCidr(text: string): boolean {
  try {
    parseSinkholes([text]);
    return true;
  } catch {
    return false;
  }
}

/** The User-Agent of probes that identify themselves: it names the tool and, when given, where to read about it. */
export function defaultUserAgent(contactUrl?: string): string {
  return `takedown-orchestrator-probe (takedown verification${contactUrl ? `; +${contactUrl}` : ''})`;
}

/**
 * The User-Agent probes send by default: a common desktop browser's. A phishing kit that shows scanners a 404
 * (and its victims the page) would read an identifying one as "say you are gone".
 */
export const BROWSER_USER_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

/** The prober that probes for real, over node:dns, node:net, node:tls and node:http. */
export function createProber(options: ProberOptions = {}): Prober {
  const { now, ...rest } = options;
  const parsed = OptionsSchema.safeParse(rest);
  if (!parsed.success) {
    throw new InvalidInputError(
      'the prober options are not valid',
      parsed.error.issues.map((i) => ({ where: i.path.map(String).join('.') || 'options', reason: i.message })),
    );
  }
  const o = parsed.data;
  const timeoutMs = o.timeoutMs ?? 5000;
  return new NetworkProber({
    dns: new ProbeDns(o.dnsServers, timeoutMs),
    sinkholes: parseSinkholes(o.sinkholes ?? DEFAULT_SINKHOLES),
    ...(o.proxy !== undefined ? { proxy: parseProxyUrl(o.proxy) } : {}),
    timeoutMs,
    retries: o.retries ?? 1,
    userAgent: o.userAgent ?? (o.identify ? defaultUserAgent(o.contactUrl) : BROWSER_USER_AGENT),
    guard: new AddressGuard({ allow: o.allowAddresses ?? [] }),
    maxBodyBytes: o.maxBodyBytes ?? 2 * 1024 * 1024,
    maxRedirects: o.maxRedirects ?? 5,
    spacing: new HostSpacing(o.perHostIntervalMs ?? 1000),
    now: now ?? (() => new Date()),
  });
}

interface Settings {
  readonly dns: ProbeDns;
  readonly guard: AddressGuard;
  readonly sinkholes: SinkholeList;
  readonly proxy?: ProxyConfig;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly userAgent: string;
  readonly maxBodyBytes: number;
  readonly maxRedirects: number;
  readonly spacing: HostSpacing;
  readonly now: () => Date;
}

class NetworkProber implements Prober {
  constructor(private readonly s: Settings) {}

  async probe(req: ProbeRequest): Promise<ProbeResult> {
    const started = performance.now();
    const plan = planProbe(req.indicator);
    let outcome: ProbeOutcome;
    let attempts = 0;
    do {
      attempts += 1;
      try {
        outcome = await this.attempt(plan, attempts, req.evidenceSha256);
      } catch (err) {
        // a bug or an odd failure of ours is a verdict too: the caller gets a result, never an exception
        outcome = { verdict: 'error', live: false, conclusive: false, detail: `the probe failed (${errorCode(err)}); not evidence either way`, evidence: { error: errorCode(err) } };
      }
    } while (shouldRetry(outcome) && attempts <= this.s.retries);
    const viaProxy = this.s.proxy !== undefined && plan.method !== 'dns';
    return {
      method: plan.method,
      target: plan.target,
      live: outcome.live,
      conclusive: outcome.conclusive,
      verdict: outcome.verdict,
      detail: attempts > 1 ? `${outcome.detail} (attempt ${attempts})` : outcome.detail,
      at: this.s.now().toISOString(),
      attempts,
      evidence: { ...outcome.evidence, ...(viaProxy ? { viaProxy } : {}), durationMs: Math.round(performance.now() - started) },
    };
  }

  private async attempt(plan: ProbePlan, attempt: number, evidenceSha256: string | undefined): Promise<ProbeOutcome> {
    switch (plan.method) {
      case 'dns': {
        const { a, aaaa } = await this.s.dns.lookup(plan.host);
        return dnsOutcome(plan.host, a, aaaa, this.s.sinkholes);
      }
      case 'http':
        return this.s.spacing.run(plan.host, () => fetchPage(plan.url, this.s, attempt, evidenceSha256));
      case 'tcp': {
        let address = plan.host;
        let addresses: string[] | undefined;
        if (plan.hostKind === 'domain') {
          const { a, aaaa } = await this.s.dns.lookup(plan.host);
          const resolved = dnsOutcome(plan.host, a, aaaa, this.s.sinkholes);
          if (!resolved.live) return resolved;
          addresses = resolved.evidence.addresses ?? [];
          // a name may point anywhere: connect only to an address every port of the probe may reach
          const allowed = addresses.filter((x) => plan.ports.every((p) => this.s.guard.refusal(x, p) === undefined));
          if (allowed.length === 0) {
            const why = `${plan.host} resolves to ${plan.ports.map((p) => this.s.guard.refusal(addresses![0]!, p)).find((r) => r !== undefined)}`;
            return { ...tcpOutcome(plan.target, plan.ports.map((port) => ({ port, open: false as const, failure: refusedAddress(why).failure }))), evidence: { addresses, error: 'ADDRESS_REFUSED', phase: 'connect' } };
          }
          address = allowed[(attempt - 1) % allowed.length]!;
        } else if (this.s.proxy) {
          // through the proxy our connection goes to the proxy: the target's address is checked here instead
          const refused = plan.ports.map((p) => this.s.guard.refusal(address, p)).find((r) => r !== undefined);
          if (refused !== undefined) return tcpOutcome(plan.target, plan.ports.map((port) => ({ port, open: false as const, failure: refusedAddress(refused).failure })));
        }
        const results = await this.s.spacing.run(plan.host, () => Promise.all(plan.ports.map((port) => this.connect(plan, address, port))));
        const outcome = tcpOutcome(plan.target, results);
        return addresses ? { ...outcome, evidence: { ...outcome.evidence, addresses } } : outcome;
      }
    }
  }

  private async connect(plan: ProbePlan, address: string, port: number): Promise<ConnectResult> {
    try {
      // through the proxy the name goes in the CONNECT, so the proxy (not we) connects to it
      const socket = this.s.proxy
        ? await connectViaProxy(this.s.proxy, plan.host, port, this.s.timeoutMs, this.s.userAgent)
        : await connectTcp(address, port, this.s.timeoutMs, 'connect', this.s.guard);
      socket.destroy();
      return { port, open: true };
    } catch (err) {
      return { port, open: false, failure: classifyError(err, 'connect') };
    }
  }
}
