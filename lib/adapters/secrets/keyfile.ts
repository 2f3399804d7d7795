import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SecretBoxError } from '../../core/errors.js';
import type { SecretBox } from '../../core/ports.js';

// kf1: bound to the key only (before contexts); kf2: bound to the key and the value's context
const LEGACY_FORMAT = 'kf1';
const FORMAT = 'kf2';
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface Key {
  readonly bytes: Buffer;
  /** names the key in each sealed value, so a value sealed under another key file is told apart from an altered one */
  readonly id: string;
}

/**
 * AES-256-GCM under a 32-byte key kept in a file of the embedded host's data directory. The file is created
 * with mode 0600 on first use; an existing file readable by others is refused, as ssh refuses such a key.
 */
export class KeyFileSecretBox implements SecretBox {
  private key?: Promise<Key>;

  constructor(private readonly path: string) {}

  async seal(plaintext: string, context: string): Promise<string> {
    const key = await this.loadKey();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.bytes, iv);
    // the context is authenticated, not stored: a value copied into another recipient's record does not open there
    cipher.setAAD(Buffer.from(`${FORMAT}.${key.id}.${context}`));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${FORMAT}.${key.id}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  async open(sealed: string, context: string): Promise<string> {
    const key = await this.loadKey();
    const [format, id, data, ...rest] = sealed.split('.');
    if ((format !== FORMAT && format !== LEGACY_FORMAT) || !id || data === undefined || rest.length) throw new SecretBoxError('not a value sealed by a key file');
    if (id !== key.id) throw new SecretBoxError(`sealed under another key (${id}) than the key file's (${key.id})`);
    const raw = Buffer.from(data, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError('the sealed value is truncated');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.bytes, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(format === FORMAT ? `${FORMAT}.${key.id}.${context}` : `${LEGACY_FORMAT}.${key.id}`));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch (e) {
      throw new SecretBoxError('the sealed value does not authenticate (altered, another key, or sealed for someone else)', { cause: e });
    }
  }

  bound(sealed: string): boolean {
    return sealed.startsWith(`${FORMAT}.`);
  }

  private loadKey(): Promise<Key> {
    const pending = (this.key ??= readOrCreateKey(this.path));
    // a failed read is not kept: the operator may fix the file's mode and try again
    pending.catch(() => {
      if (this.key === pending) this.key = undefined;
    });
    return pending;
  }
}

async function readOrCreateKey(path: string): Promise<Key> {
  const bytes = await readOrCreateKeyFile(path);
  return { bytes, id: createHash('sha256').update(bytes).digest('hex').slice(0, 8) };
}

/**
 * The 32-byte key in a base64 key file, created with mode 0600 (in a 0700 directory) when there is none. A file
 * open to its group or others is refused, as ssh refuses such a key.
 */
export async function readOrCreateKeyFile(path: string): Promise<Buffer> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // written aside, then linked into place: link fails on an existing file, so of two processes starting at once
  // one key wins, and nobody ever reads a half-written file
  if (!(await stat(path).catch(() => undefined))) {
    const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(aside, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
      await link(aside, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new SecretBoxError(`cannot create the key file ${path}`, { cause: e });
    } finally {
      await rm(aside, { force: true });
    }
  }
  const info = await stat(path);
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
    throw new SecretBoxError(`the key file ${path} is open to its group or others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`);
  }
  const bytes = Buffer.from((await readFile(path, 'utf8')).trim(), 'base64');
  if (bytes.length !== 32) throw new SecretBoxError(`the key file ${path} does not hold a 32-byte key in base64`);
  return bytes;
}
