import { z } from 'zod';
import { appendEvent } from '../../core/audit/index.js';
import { InvalidInputError, StaleWriteError } from '../../core/errors.js';
import type { Deps, Store } from '../../core/ports.js';
import { DIRECTORY_AUDIT_ID, parseRoutingPolicy, type RoutingPolicy } from '../../core/routing/index.js';
import { DirectoryFile, type Directory } from './directory.js';

/**
 * The party directory and the routing policy as a coordinator edits them at run time, kept in the store's generic
 * records: the AWS host's route function reads them at each step (the directory bundled with it is the fallback),
 * so a correction reaches the next campaign without a deploy. Each change is an audit event of the directory's
 * trail, with who made it.
 */

export const SETTINGS_KIND = 'settings';
export type SettingName = 'directory' | 'routing';

// a record is one DynamoDB item (400 KB); the rest of the item (keys, version, the wrapper) fits in what is left
const MAX_SETTING_CHARS = 350_000;

const Stored = z.object({ document: z.unknown(), by: z.string(), at: z.string() });
export type StoredSetting = z.infer<typeof Stored> & { readonly version: number };

/** The stored document of a setting, with who stored it and its record version; undefined when none is stored. */
export async function storedSetting(store: Pick<Store, 'getRecord'>, name: SettingName): Promise<StoredSetting | undefined> {
  const record = await store.getRecord(SETTINGS_KIND, name);
  if (!record) return undefined;
  return { ...Stored.parse(JSON.parse(record.value)), version: record.version };
}

/** Checks a setting's document as the route function will read it; InvalidInputError names each bad field. */
export function checkSetting(name: SettingName, document: unknown): Directory | RoutingPolicy {
  if (name === 'routing') return parseRoutingPolicy(document);
  const parsed = DirectoryFile.safeParse(document);
  if (!parsed.success) {
    throw new InvalidInputError('the directory has invalid entries', parsed.error.issues.map((i) => ({ where: i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || 'directory', reason: i.message })));
  }
  return parsed.data;
}

/** Replaces a setting's document (checked first) and records who did it; returns the stored version. */
export async function storeSetting(deps: Pick<Deps, 'store' | 'ids' | 'clock' | 'auditKey'>, name: SettingName, document: unknown, by: string): Promise<StoredSetting> {
  checkSetting(name, document);
  const at = deps.clock.now().toISOString();
  const value = JSON.stringify({ document, by, at });
  if (value.length > MAX_SETTING_CHARS) {
    throw new InvalidInputError(`the ${name} is too large to store`, [{ where: name, reason: `${value.length} characters; at most ${MAX_SETTING_CHARS}` }]);
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await deps.store.getRecord(SETTINGS_KIND, name);
    const version = (current?.version ?? 0) + 1;
    // the event first: a crash in between leaves a recorded intent, never an unrecorded change
    await appendEvent(deps, { campaignId: DIRECTORY_AUDIT_ID, type: `${name}.replaced`, actor: by, data: { version, characters: value.length } });
    try {
      await deps.store.putRecord({ kind: SETTINGS_KIND, key: name, value, version }, current ? current.version : 'absent');
      return { document, by, at, version };
    } catch (e) {
      if (!(e instanceof StaleWriteError) && (e as Error).name !== 'AlreadyExistsError') throw e;
    }
  }
  throw new StaleWriteError('record', `${SETTINGS_KIND}/${name}`);
}
