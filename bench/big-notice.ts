import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { approveCampaign, submitCampaign } from '../lib/core/campaign/index.js';
import { listAll } from '../lib/core/paging.js';
import { startHost } from '../lib/local/host.js';

/**
 * One notice to one hoster carrying 20,000 URL indicators (issue: "a message too big is read as a dead contact"):
 * how many parts it goes in, the largest message, and the bytes one indicator costs. Loopback only: the embedded
 * outbox is the relay.
 */
export interface BigNoticeFigures {
  readonly indicators: number;
  readonly parts: number;
  readonly largestMessageBytes: number;
  readonly limitBytes: number;
  readonly totalBytes: number;
  readonly bytesPerIndicator: number;
  readonly seconds: number;
  readonly met: boolean;
}

export async function runBigNoticeBench(options: { log: (line: string) => void; indicators?: number }): Promise<BigNoticeFigures> {
  const indicators = options.indicators ?? 20_000;
  const dataDir = mkdtempSync(join(tmpdir(), 'takedown-bench-big-'));
  options.log(`big notice: ${indicators.toLocaleString('en')} indicators to one recipient ...`);
  const host = await startHost({ dataDir, timeScale: 1, httpPort: 0, smtpPort: 0, logLevel: 'silent', probes: 'off', rdap: 'off' });
  try {
    const lines = ['indicator,type,country,evidence', ...Array.from({ length: indicators }, (_, i) => `http://192.0.2.10/login/${i}/verify.php,url,KE,phishing kit seen by the vendor`)];
    const started = performance.now();
    const { campaign } = await submitCampaign(host.deps, { name: 'Bench: one big notice', submitter: 'bench', content: lines.join('\n'), requireApproval: true });
    for (;;) {
      const c = await host.store.getCampaign(campaign.id);
      if (c?.state === 'awaiting-approval') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await approveCampaign(host.deps, campaign.id, 'bench');
    for (;;) {
      const notices = await listAll((p) => host.store.listNotices({ campaignId: campaign.id }, p));
      if (notices.length && notices.every((n) => n.state === 'sent')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = Math.round(performance.now() - started) / 1000;
    const sizes = readdirSync(host.files.outbox).map((f) => readFileSync(join(host.files.outbox, f)).length);
    const total = sizes.reduce((a, b) => a + b, 0);
    const limit = host.config.maxMessageBytes;
    const largest = Math.max(...sizes);
    return {
      indicators,
      parts: sizes.length,
      largestMessageBytes: largest,
      limitBytes: limit,
      totalBytes: total,
      bytesPerIndicator: Math.round(total / indicators),
      seconds,
      met: largest <= limit,
    };
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
