/**
 * A MISP instance and a TAXII 2.1 server for trying the feed commands on this machine: the stand-ins the tests
 * use (test/support), serving the recorded answers of test/fixtures/misp and test/fixtures/taxii on loopback, and
 * keeping the tags and sightings written back. Documentation addresses and names only; nothing leaves the machine.
 *
 *   npx tsx examples/demo-feeds.ts        (then, in another terminal, the commands of the README)
 */
import { startMispStandin, MISP_EVENTS } from '../test/support/misp-standin.js';
import { startTaxiiStandin, TAXII_COLLECTION } from '../test/support/taxii-standin.js';

const MISP_PORT = Number(process.env.DEMO_MISP_PORT ?? 8181);
const TAXII_PORT = Number(process.env.DEMO_TAXII_PORT ?? 8282);

const misp = await startMispStandin({ port: MISP_PORT, events: MISP_EVENTS, key: 'demoMispKey0000000000000000000000000000000' });
const taxii = await startTaxiiStandin({ port: TAXII_PORT });
process.stdout.write(
  [
    `MISP      ${misp.url}   events 1337, 1338, 1339   key: export TAKEDOWN_MISP_KEY=${misp.key}`,
    `TAXII 2.1 ${taxii.url}   collection ${TAXII_COLLECTION}   user analyst: export TAKEDOWN_TAXII_PASSWORD='correct horse battery staple'`,
    'Ctrl-C stops both. Tags and sightings written back are printed as they come.',
    '',
  ].join('\n'),
);
let seen = 0;
const timer = setInterval(() => {
  for (const r of misp.requests.slice(seen)) if (r.method === 'POST' && r.path !== '/events/restSearch') process.stdout.write(`MISP ${r.method} ${r.path} ${JSON.stringify(r.body)}\n`);
  seen = misp.requests.length;
  for (const v of misp.violations.splice(0)) process.stdout.write(`MISP refused: ${v}\n`);
}, 500);
const stop = async () => {
  clearInterval(timer);
  await Promise.all([misp.close(), taxii.close()]);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
