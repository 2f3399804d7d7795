import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AuditKey } from '../../core/ports.js';
import { readOrCreateKeyFile } from './keyfile.js';

/** What names an audit key in its MACs: a MAC of a fixed label, so the id says nothing about the key. */
export function auditKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('takedown-audit-key-id').digest('hex').slice(0, 12);
}

/** An AuditKey over 32 bytes already in memory (the KMS adapter decrypts them; tests make them). */
export function auditKeyFromBytes(key: Buffer): AuditKey {
  const bytes = Buffer.from(key);
  return {
    keyId: auditKeyId(bytes),
    mac: async (message) => createHmac('sha256', bytes).update(message, 'utf8').digest('hex'),
  };
}

/**
 * The embedded host's audit key: 32 random bytes in a key file of the data directory (mode 0600, created on first
 * use), never in the database. Whoever can write the database but not read this file cannot forge an event.
 */
export async function loadAuditKeyFile(path: string): Promise<AuditKey> {
  return auditKeyFromBytes(await readOrCreateKeyFile(path));
}

/** The key file's key when the file exists; undefined otherwise (a verification never creates one). */
export async function readAuditKeyFile(path: string): Promise<AuditKey | undefined> {
  return existsSync(path) ? loadAuditKeyFile(path) : undefined;
}
