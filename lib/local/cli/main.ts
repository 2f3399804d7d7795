import { Command } from 'commander';
import { TakedownError, InvalidInputError } from '../../core/errors.js';
import { addAckCommand, addFollowupCommand } from './answers.js';
import { addAuditCommands } from './audit.js';
import { addApproveCommand, addExpiredCommand, addPlanCommand, addRunCommand, addStatusCommand } from './campaign.js';
import { addConfigCommands } from './config.js';
import { addFindCommand } from './find.js';
import { addControlCommands } from './control.js';
import { addExportCommand } from './export.js';
import { addMispCommands, addTaxiiCommands } from './feeds/servers.js';
import { addKeyCommands } from './keys.js';
import { addMailCommands } from './mail.js';
import { err, UsageError } from './shared/options.js';
import { addPartyCommands } from './parties.js';
import { addRecipientCommands } from './recipients.js';
import { addRemoteCommands } from './remote.js';
import { addDemoCommand, addServeCommand } from './serve.js';
import { addWatchCommand } from './feeds/watch.js';
import { boundHeapGrowth } from '../heap.js';

/**
 * The `takedown` CLI: the program and its exit codes. Each command lives in the file of its group (campaign,
 * control, answers, serve, parties, mail, audit, keys, recipients, export, feeds, watch); the options they share are in options.ts.
 */

/** Build the `takedown` program; `main` runs it. */
export function program(): Command {
  const prog = new Command('takedown')
    .description('Takedown-request orchestrator: route confirmed malicious infrastructure to whoever can take it down, send one notice per recipient, track answers, escalate.')
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  // in the order `takedown --help` lists them, which is why the groups interleave
  addRunCommand(prog);
  addPlanCommand(prog);
  addDemoCommand(prog);
  addServeCommand(prog);
  addWatchCommand(prog);
  addStatusCommand(prog);
  addFindCommand(prog);
  addApproveCommand(prog);
  addControlCommands(prog);
  addFollowupCommand(prog);
  addExpiredCommand(prog);
  addExportCommand(prog);
  addMispCommands(prog);
  addTaxiiCommands(prog);
  addAckCommand(prog);
  addPartyCommands(prog);
  addMailCommands(prog);
  addAuditCommands(prog);
  addKeyCommands(prog);
  addRecipientCommands(prog);
  addConfigCommands(prog);
  addRemoteCommands(prog);
  return prog;
}

/** Run the CLI; returns the exit code (0 ok, 1 failure, 2 a usage or input mistake). */
export async function main(argv: string[]): Promise<number> {
  // a long campaign or `serve` would otherwise let the heap grow to several times what is live (see heap.ts)
  boundHeapGrowth();
  // a reader that stops early (`| head`) is no failure of the command
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  try {
    await program().parseAsync(argv);
    // a command that found nothing, or a check that failed, says so with its exit code
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`takedown: ${e.message}`);
      return 2;
    }
    if (e instanceof InvalidInputError) {
      err(`takedown: ${e.message}`);
      for (const issue of e.issues.slice(0, 50)) err(`  ${issue.where}: ${issue.reason}`);
      if (e.issues.length > 50) err(`  ... and ${e.issues.length - 50} more`);
      err('nothing was stored.');
      if (e.hint) err(e.hint);
      return 2;
    }
    if (e instanceof TakedownError) {
      err(`takedown: ${e.message} (${e.code})`);
      if (e.code === 'CONTROL.NEEDS_FORCE') err('give --force to do it anyway');
      return 1;
    }
    if ((e as { code?: string }).code?.startsWith('commander.')) return (e as { exitCode?: number }).exitCode ?? 2;
    err(`takedown: ${(e as Error).message}`);
    return 1;
  }
}
