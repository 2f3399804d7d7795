import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { InvalidInputError } from '../../core/errors.js';
import { err, out, UsageError } from './shared/options.js';

/**
 * The CLI against a deployed host: `takedown --api <url> --token <token> <command>`. The token is a user pool
 * token (a JWT: the AWS host's API Gateway checks it) or an API key (`takedown keys create`: a host on another
 * machine, `takedown serve`). These commands change what the host routes with, through its HTTP API:
 *
 *   directory show | directory set <file>       the party directory (YAML or JSON, as examples/directory.yaml)
 *   routing show | routing set <file>           the routing policy (as examples/routing.yaml)
 *   contacts list | contacts override ...       the coordinators' contact corrections
 *   recipients secret list | create | rotate    recipients' webhook secrets (shown once)
 *   upload <file> --name --submitter            a campaign file of any size, by the upload path
 *
 * With --api, contacts and recipients secret go to the API instead of this machine's data directory; every other
 * command refuses --api rather than quietly act on this machine.
 */

interface Remote {
  readonly api: string;
  readonly token: string;
}

/** The flags of the root: `--api` and `--token`, else TAKEDOWN_API_URL and TAKEDOWN_API_TOKEN. */
function remoteOf(prog: Command): Remote | undefined {
  const opts = prog.opts<{ api?: string; token?: string }>();
  const api = opts.api ?? process.env.TAKEDOWN_API_URL;
  if (!api) return undefined;
  const token = opts.token ?? process.env.TAKEDOWN_API_TOKEN;
  if (!token) throw new UsageError('--api needs --token (a user pool token or an API key), or TAKEDOWN_API_TOKEN');
  let url: URL;
  try {
    url = new URL(api);
  } catch {
    throw new UsageError(`--api is not a URL: ${api.slice(0, 100)}`);
  }
  // a token sent in the clear to anything but this machine is a token given away
  if (url.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) throw new UsageError('--api must be https:// (http:// only to this machine)');
  return { api: url.href.replace(/\/$/, ''), token };
}

async function call(remote: Remote, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${remote.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${remote.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { error: { message: text.slice(0, 200) } };
  }
  if (res.status === 400) throw new InvalidInputError(json.error?.message ?? 'the host refused the request', json.error?.issues ?? []);
  if (res.status === 401 || res.status === 403) throw new UsageError(`the host refused the token (${res.status}${json.error?.code ? ` ${json.error.code}` : ''}): a coordinator's token changes things, an auditor's reads them`);
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${json.error?.message ?? json.message ?? ''}`);
  return json;
}

/** A YAML or JSON file as the JSON the API takes. */
async function documentOf(file: string): Promise<unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InvalidInputError('cannot read the file', [{ where: file, reason: (e as NodeJS.ErrnoException).code ?? 'unreadable' }]);
  }
  // loaded here, not when the CLI starts: every command (and `--help`) loaded the YAML parser for this one
  const { parse: parseYaml } = await import('yaml');
  try {
    return parseYaml(text) as unknown;
  } catch (e) {
    throw new InvalidInputError('the file is not YAML or JSON', [{ where: file, reason: String((e as Error).message).split('\n')[0]! }]);
  }
}

const print = (value: unknown) => out(JSON.stringify(value, null, 2));

/** Adds `--api` / `--token`, the `directory`, `routing` and `upload` commands, and the remote side of `contacts` and `recipients secret`. */
export function addRemoteCommands(prog: Command): void {
  prog
    .option('--api <url>', 'a deployed host\'s API (the AWS stack\'s ApiUrl, or https://host:port of takedown serve); env TAKEDOWN_API_URL')
    .option('--token <token>', 'a user pool token (AWS) or an API key; env TAKEDOWN_API_TOKEN');
  const need = (): Remote => {
    const remote = remoteOf(prog);
    if (!remote) throw new UsageError('this command talks to a deployed host: give --api <url> and --token <token>. On this machine the directory and the routing policy are files (--directory, --routing).');
    return remote;
  };

  for (const name of ['directory', 'routing'] as const) {
    const group = prog.command(name).description(name === 'directory' ? 'the party directory a deployed host routes with (--api)' : 'the routing policy a deployed host routes with (--api)');
    group
      .command('show')
      .description(`print the ${name} stored in the host (null: the one it was deployed with)`)
      .action(async () => print(await call(need(), 'GET', `/${name}`)));
    group
      .command('set')
      .argument('<file>', name === 'directory' ? 'a directory file (YAML or JSON), as examples/directory.yaml' : 'a routing policy file, as examples/routing.yaml')
      .description(`replace the ${name} the host routes the next campaigns with (checked by the host first; audited)`)
      .action(async (file: string) => {
        const saved = await call(need(), 'PUT', `/${name}`, await documentOf(file));
        err(`${name} version ${saved.version} stored by ${saved.by}; the next page routed uses it`);
      });
  }

  prog
    .command('upload')
    .argument('<file>', 'the campaign file (STIX, MISP, CSV or a list), up to 100 MB')
    .requiredOption('--name <name>', 'the operation\'s name')
    .requiredOption('--submitter <who>', 'who submits it')
    .option('--tlp <level>', 'the TLP of the whole file')
    .option('--yes', 'approved in advance: send without a plan review')
    .description('submit a campaign file of any size to a deployed host (--api): uploaded to storage, read by the campaign workflow')
    .action(async (file: string, opts: { name: string; submitter: string; tlp?: string; yes?: boolean }) => {
      const remote = need();
      const size = statSync(file).size;
      const asked = await call(remote, 'POST', '/uploads', { size });
      const put = await fetch(asked.url as string, { method: 'PUT', body: readFileSync(file) });
      if (put.status !== 200) throw new Error(`the upload to storage answered ${put.status}`);
      const started = await call(remote, 'POST', '/campaigns', { upload: asked.upload, name: opts.name, submitter: opts.submitter, sourceName: basename(file), requireApproval: !opts.yes, ...(opts.tlp ? { tlp: opts.tlp.toUpperCase() } : {}) });
      out(started.campaign.id);
      err(`uploaded ${size.toLocaleString('en')} bytes as ${asked.upload}; the campaign workflow reads it (GET /uploads/${asked.upload} says how it went)`);
    });

  // with --api, these act on the deployed host; without, they keep acting on this machine's data directory
  const remoteActions: Record<string, (remote: Remote, args: readonly unknown[], opts: Record<string, unknown>) => Promise<void>> = {
    'contacts override': async (remote, [target, email], opts) => {
      const saved = await call(remote, 'POST', '/contacts/overrides', { target, email, ...(opts.name ? { name: opts.name } : {}), ...(opts.note ? { note: opts.note } : {}) });
      err(`override recorded: ${saved.override.target} -> ${saved.override.email} (by ${saved.override.by})`);
    },
    'contacts list': async (remote) => print((await call(remote, 'GET', '/contacts/overrides')).overrides),
    'secret list': async (remote) => print((await call(remote, 'GET', '/recipient-secrets')).secrets),
    'secret create': async (remote, [recipient]) => {
      const issued = await call(remote, 'POST', '/recipient-secrets', { recipient });
      out(issued.secret);
      err(`webhook secret created for ${issued.recipient}. It is shown this once: hand it to the recipient over a channel you trust.`);
    },
    'secret rotate': async (remote, [recipient], opts) => {
      const issued = await call(remote, 'POST', '/recipient-secrets/rotation', { recipient, ...(typeof opts.grace === 'number' ? { graceHours: opts.grace } : {}) });
      out(issued.secret);
      err(`webhook secret rotated for ${issued.recipient}; the previous one verifies until ${issued.previousValidUntil ?? 'now'}`);
    },
  };
  // the action is looked up when it runs, after this hook: swapping it here sends the command to the host
  prog.hook('preAction', (_root, command) => {
    const remote = remoteOf(prog);
    if (!remote) return;
    const key = `${command.parent?.name() ?? ''} ${command.name()}`;
    if (['directory show', 'directory set', 'routing show', 'routing set'].includes(key) || command.name() === 'upload') return;
    const act = remoteActions[key];
    if (!act) throw new UsageError(`takedown ${command.name()} runs on this machine: --api is for directory, routing, contacts, recipients secret and upload`);
    command.action(async () => act(remote, command.processedArgs, command.opts()));
  });
}
