import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { InvalidInputError, NotFoundError, StaleWriteError } from '../../core/errors.js';
import { KeyRole, type Principal } from '../../core/access/index.js';
import type { Store } from '../../core/ports.js';
import { listAll } from '../../core/paging.js';
import { looksLikeApiKey } from './key-shape.js';

/**
 * API keys and dashboard sessions, kept as small records in the store. Only the sha-256 of a key or a session
 * token is stored (it is the record's key): a copy of the database lets nobody in. Times here are real time,
 * never the domain clock (which runs fast on the embedded host).
 */

const KEY_KIND = 'apikey';
const SESSION_KIND = 'session';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** How long a dashboard session lasts before its user signs in again. */
export const SESSION_SECONDS = 8 * 3600;

const KeyName = z
  .string()
  .trim()
  .min(1, 'a name is required')
  .max(100)
  .regex(/^[^\p{Cc}]+$/u, 'no control characters');

const ApiKeyValue = z.object({
  id: z.string(),
  role: KeyRole,
  name: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
});

/** What is known of a key once it is created: everything but the key. */
export type ApiKeyInfo = z.infer<typeof ApiKeyValue>;

const SessionValue = z.object({
  keyHash: z.string(),
  csrf: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
});

/** A signed-in dashboard user: who, and the token its forms must carry. */
export interface Session {
  readonly principal: Principal;
  /** the per-session token every dashboard form posts back (CSRF) */
  readonly csrf: string;
  readonly expiresAt: string;
}

/** The sha-256 (hex) a key or a session token is stored under. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time equality of two strings (for tokens a request carries). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export { looksLikeApiKey };

/** Create an API key: the key is returned once and never stored. */
export async function createApiKey(store: Store, input: { role: string; name: string }, now = new Date()): Promise<{ key: string; info: ApiKeyInfo }> {
  const role = KeyRole.safeParse(input.role);
  const name = KeyName.safeParse(input.name);
  const issues = [
    ...(role.success ? [] : [{ where: 'role', reason: 'coordinator or auditor' }]),
    ...(name.success ? [] : [{ where: 'name', reason: name.error.issues[0]?.message ?? 'invalid' }]),
  ];
  if (!role.success || !name.success) throw new InvalidInputError('the key request is not valid', issues);
  const key = `tkd_${randomBytes(32).toString('base64url')}`;
  const info: ApiKeyInfo = { id: `key_${randomBytes(8).toString('hex')}`, role: role.data, name: name.data, createdAt: now.toISOString() };
  await store.putRecord({ kind: KEY_KIND, key: secretHash(key), value: JSON.stringify(info), version: 1 }, 'absent');
  return { key, info };
}

/** Every key ever created, revoked ones included, oldest first. */
export async function listApiKeys(store: Store): Promise<ApiKeyInfo[]> {
  const records = await listAll((p) => store.listRecords(KEY_KIND, p));
  return records.map((r) => ApiKeyValue.parse(JSON.parse(r.value))).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

/** Revoke a key by its id; its sessions end with it. Revoking twice keeps the first time. */
export async function revokeApiKey(store: Store, id: string, now = new Date()): Promise<ApiKeyInfo> {
  for (;;) {
    const records = await listAll((p) => store.listRecords(KEY_KIND, p));
    const record = records.find((r) => ApiKeyValue.parse(JSON.parse(r.value)).id === id);
    if (!record) throw new NotFoundError('apikey', id.slice(0, 64));
    const info = ApiKeyValue.parse(JSON.parse(record.value));
    if (info.revokedAt) return info;
    const revoked: ApiKeyInfo = { ...info, revokedAt: now.toISOString() };
    try {
      await store.putRecord({ ...record, value: JSON.stringify(revoked), version: record.version + 1 }, record.version);
      return revoked;
    } catch (e) {
      if (!(e instanceof StaleWriteError)) throw e;
    }
  }
}

async function keyByHash(store: Store, hash: string): Promise<ApiKeyInfo | undefined> {
  const record = await store.getRecord(KEY_KIND, hash);
  if (!record) return undefined;
  const info = ApiKeyValue.parse(JSON.parse(record.value));
  return info.revokedAt ? undefined : info;
}

function principalOf(info: ApiKeyInfo): Principal {
  return { role: info.role, keyId: info.id, name: info.name };
}

/** The principal of a live (not revoked) API key; undefined for an unknown or revoked one. */
export async function principalForKey(store: Store, key: string): Promise<Principal | undefined> {
  if (!looksLikeApiKey(key)) return undefined;
  const info = await keyByHash(store, secretHash(key));
  return info && principalOf(info);
}

/** Sign in to the dashboard with a key: a session whose token goes in a cookie, so the key is sent once. */
export async function openSession(store: Store, key: string, now = new Date()): Promise<{ token: string; session: Session } | undefined> {
  if (!looksLikeApiKey(key)) return undefined;
  return openSessionFor(store, secretHash(key), now);
}

async function openSessionFor(store: Store, keyHash: string, now: Date): Promise<{ token: string; session: Session } | undefined> {
  const info = await keyByHash(store, keyHash);
  if (!info) return undefined;
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + SESSION_SECONDS * 1000).toISOString();
  const value = { keyHash, csrf: randomBytes(32).toString('base64url'), createdAt: now.toISOString(), expiresAt };
  await store.putRecord({ kind: SESSION_KIND, key: secretHash(token), value: JSON.stringify(value), version: 1, expiresAt }, 'absent');
  return { token, session: { principal: principalOf(info), csrf: value.csrf, expiresAt } };
}

/** The live session of a cookie token: unknown, expired and revoked-key sessions are none. */
export async function sessionFor(store: Store, token: string, now = new Date()): Promise<Session | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  const hash = secretHash(token);
  const record = await store.getRecord(SESSION_KIND, hash);
  if (!record) return undefined;
  const value = SessionValue.parse(JSON.parse(record.value));
  if (value.expiresAt <= now.toISOString()) {
    await store.deleteRecord(SESSION_KIND, hash);
    return undefined;
  }
  const info = await keyByHash(store, value.keyHash);
  return info && { principal: principalOf(info), csrf: value.csrf, expiresAt: value.expiresAt };
}

/** Sign out: the session's record is removed. */
export async function closeSession(store: Store, token: string): Promise<void> {
  if (TOKEN_SHAPE.test(token)) await store.deleteRecord(SESSION_KIND, secretHash(token));
}

const SIGN_IN_KIND = 'signin-link';
const SignInValue = z.object({ keyHash: z.string(), expiresAt: z.string(), used: z.string().optional() });

/** How long a one-time sign-in link works (real time). */
export const SIGN_IN_LINK_SECONDS = 15 * 60;

/**
 * A one-time sign-in link's token for a key (the host's own, printed by `takedown serve` to whoever started it):
 * opened once within SIGN_IN_LINK_SECONDS, it signs the browser in as that key. Only its hash is stored.
 */
export async function createSignInToken(store: Store, key: string, now = new Date()): Promise<string> {
  if (!looksLikeApiKey(key)) throw new InvalidInputError('not an API key', [{ where: 'key', reason: 'tkd_…' }]);
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + SIGN_IN_LINK_SECONDS * 1000).toISOString();
  await store.putRecord({ kind: SIGN_IN_KIND, key: secretHash(token), value: JSON.stringify({ keyHash: secretHash(key), expiresAt }), version: 1, expiresAt }, 'absent');
  return token;
}

/** Use a one-time sign-in token: a session for its key, once; undefined when unknown, used, expired or revoked. */
export async function useSignInToken(store: Store, token: string, now = new Date()): Promise<{ token: string; session: Session } | undefined> {
  if (!TOKEN_SHAPE.test(token)) return undefined;
  const hash = secretHash(token);
  const record = await store.getRecord(SIGN_IN_KIND, hash);
  if (!record) return undefined;
  const value = SignInValue.parse(JSON.parse(record.value));
  if (value.used) return undefined;
  // claimed with a conditional write before the session opens: of two uses at once, one wins
  try {
    await store.putRecord({ ...record, value: JSON.stringify({ ...value, used: now.toISOString() }), version: record.version + 1 }, record.version);
  } catch (e) {
    if (e instanceof StaleWriteError) return undefined;
    throw e;
  }
  if (value.expiresAt <= now.toISOString()) return undefined;
  return openSessionFor(store, value.keyHash, now);
}
