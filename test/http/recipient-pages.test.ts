import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueAnswerLinks } from '../../lib/core/notices/links.js';
import type { Notice } from '../../lib/core/model.js';
import type { Host } from '../../lib/local/host.js';
import { submit, testHost, waitFor } from '../workflows/support.js';

/*
 * The pages a recipient sees when it opens an answer link (the confirmation, the thanks, the "used already" and
 * "expired" refusals) speak the language its notice was written in: French, Arabic right to left, Portuguese.
 */

let host: Host & { dispose(): Promise<void> };
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'takedown-pages-'));
  const directory = join(dir, 'directory.yaml');
  writeFileSync(
    directory,
    [
      'networks:',
      '  - { cidr: 192.0.2.0/24, name: Hébergeur Exemple, abuse: abuse@fr-host.example, country: CI }',
      '  - { cidr: 198.51.100.0/24, name: Example Arabic Host, abuse: abuse@ar-host.example, country: EG }',
      '  - { cidr: 203.0.113.0/24, name: Alojamento Exemplo, abuse: abuse@pt-host.example, country: AO }',
      'certs: []',
      '',
    ].join('\n'),
  );
  host = await testHost(1, { config: { directory } });
});
afterAll(async () => {
  await host?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function noticeFor(line: string): Promise<Notice> {
  const campaignId = await submit(host, [line]);
  return waitFor('the notice', async () => {
    const [n] = (await host.store.listNotices({ campaignId })).items;
    return n?.state === 'sent' && n.taskToken !== undefined && n;
  });
}

async function tokens(notice: Notice): Promise<Record<'acknowledge' | 'actioned' | 'notOurs', string>> {
  const issued = await issueAnswerLinks(host.deps, notice, {});
  return Object.fromEntries(Object.entries(issued).map(([k, v]) => [k, v.slice(v.lastIndexOf('/') + 1)])) as never;
}

const open = async (token: string) => {
  const res = await fetch(`${host.httpUrl}/links/${token}`);
  return { status: res.status, html: await res.text() };
};
const press = async (token: string) => {
  const res = await fetch(`${host.httpUrl}/links/${token}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'confirm=yes' });
  return { status: res.status, html: await res.text() };
};

describe('answer link pages', () => {
  it('ask and thank a French-speaking recipient in French, and refuse a second use in French', async () => {
    const notice = await noticeFor('192.0.2.10,ip,CI,kit');
    const { actioned } = await tokens(notice);
    const asked = await open(actioned);
    expect(asked.html).toContain('<html lang="fr" dir="ltr">');
    expect(asked.html).toContain('Confirmer la suppression');
    expect(asked.html).toContain('Rien n’est enregistré avant que vous appuyiez sur le bouton');
    expect((await press(actioned)).html).toContain('Nous vérifierons qu’elle ne répond plus');
    const again = await press(actioned);
    expect(again.status).toBe(410);
    expect(again.html).toContain('Lien déjà utilisé');
  });

  it('speak Arabic right to left to an Egyptian host', async () => {
    const notice = await noticeFor('198.51.100.10,ip,EG,kit');
    const { acknowledge } = await tokens(notice);
    const asked = await open(acknowledge);
    expect(asked.html).toContain('<html lang="ar" dir="rtl">');
    expect(asked.html).toContain('تأكيد الاستلام');
    expect((await press(acknowledge)).html).toContain('تم التسجيل');
  });

  it('speak Portuguese to an Angolan host, and say an expired link has expired in Portuguese', async () => {
    const notice = await noticeFor('203.0.113.10,ip,AO,kit');
    const issued = await issueAnswerLinks(host.deps, notice, { ttlSeconds: 1 });
    const token = issued.notOurs.slice(issued.notOurs.lastIndexOf('/') + 1);
    expect((await open(token)).html).toContain('Não é nosso');
    await new Promise((r) => setTimeout(r, 1500));
    const late = await open(token);
    expect(late.status).toBe(410);
    expect(late.html).toContain('Link expirado');
  });

  it('fall back to the browser\'s language for a link nobody knows', async () => {
    const res = await fetch(`${host.httpUrl}/links/${'x'.repeat(43)}`, { headers: { 'accept-language': 'pt-BR,pt;q=0.9' } });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('Link não encontrado');
  });
});
