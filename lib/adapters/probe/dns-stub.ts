import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';

/**
 * A tiny authoritative DNS server on loopback UDP, for the embedded demo (its indicators' names resolve to the
 * servers it starts) and for tests: answers A, AAAA and TXT from a table, NXDOMAIN for a name it does not know,
 * NODATA for a known name without records of the type asked, SERVFAIL for names marked as failing. Enough of
 * RFC 1035 for node:dns (c-ares): one question, answers by compression pointer, no EDNS.
 */

export interface DnsRecords {
  readonly A?: readonly string[];
  readonly AAAA?: readonly string[];
  /** each record's text (published as one character-string per 255 bytes), e.g. a DKIM key for mail authentication */
  readonly TXT?: readonly string[];
}

export interface DnsStub {
  /** `127.0.0.1:<port>`, as Resolver.setServers and the prober's dnsServers take it */
  readonly server: string;
  /** the questions received, in order: `<name> <type>` */
  readonly queries: string[];
  /** replaces or adds a name's records (names are matched without case and trailing dot) */
  set(name: string, records: DnsRecords): void;
  /** forgets a name: it is NXDOMAIN from then on */
  remove(name: string): void;
  /** makes a name answer SERVFAIL */
  fail(name: string): void;
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_TXT = 16;
const TYPE_AAAA = 28;
const TYPE_NAMES: Record<number, string> = { [TYPE_A]: 'A', [TYPE_TXT]: 'TXT', [TYPE_AAAA]: 'AAAA' };

/** Keeps the query log of a long-running demo from growing without end. */
const MAX_LOGGED_QUERIES = 10_000;

/** Starts the stub on 127.0.0.1 on a free port. */
export async function startDnsStub(table: Readonly<Record<string, DnsRecords>> = {}): Promise<DnsStub> {
  const records = new Map<string, DnsRecords>();
  const failing = new Set<string>();
  const queries: string[] = [];
  const key = (name: string) => name.toLowerCase().replace(/\.$/, '');
  for (const [name, r] of Object.entries(table)) records.set(key(name), r);

  const socket: Socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    const answer = respond(msg, (name, type) => {
      if (queries.length < MAX_LOGGED_QUERIES) queries.push(`${name} ${TYPE_NAMES[type] ?? type}`);
      const k = key(name);
      if (failing.has(k)) return { rcode: 2, addresses: [] };
      const r = records.get(k);
      if (!r) return { rcode: 3, addresses: [] };
      return { rcode: 0, addresses: (type === TYPE_A ? r.A : type === TYPE_AAAA ? r.AAAA : type === TYPE_TXT ? r.TXT : undefined) ?? [] };
    });
    if (answer) socket.send(answer, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.removeListener('error', reject);
      resolve();
    });
  });
  return {
    server: `127.0.0.1:${socket.address().port}`,
    queries,
    set: (name, r) => {
      records.set(key(name), r);
      failing.delete(key(name));
    },
    remove: (name) => {
      records.delete(key(name));
      failing.delete(key(name));
    },
    fail: (name) => {
      failing.add(key(name));
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** What a name answers for a type: addresses for A and AAAA, texts for TXT. */
type Lookup = (name: string, type: number) => { rcode: number; addresses: readonly string[] };

/** The answer to one query message, or undefined when it is not one we can read. */
function respond(msg: Buffer, lookup: Lookup): Buffer | undefined {
  if (msg.length < 12) return undefined;
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000 || msg.readUInt16BE(4) !== 1) return undefined;
  // the question: labels up to the zero byte, then type and class
  const labels: string[] = [];
  let at = 12;
  while (at < msg.length && msg[at] !== 0) {
    const length = msg[at]!;
    if (length > 63) return undefined;
    labels.push(msg.subarray(at + 1, at + 1 + length).toString('latin1'));
    at += 1 + length;
  }
  const questionEnd = at + 5;
  if (questionEnd > msg.length) return undefined;
  const type = msg.readUInt16BE(at + 1);
  const { rcode, addresses } = lookup(labels.join('.'), type);

  const answers = addresses.map((address) => {
    const rdata = type === TYPE_TXT ? txtBytes(address) : isIP(address) === 4 ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    rr.writeUInt16BE(type, 2);
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  // QR, the opcode and RD as asked, AA, RA, the rcode
  header.writeUInt16BE(0x8000 | (flags & 0x7900) | 0x0400 | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, msg.subarray(12, questionEnd), ...answers]);
}

/** A TXT record's data: its text as length-prefixed character-strings of at most 255 bytes (RFC 1035 3.3.14). */
function txtBytes(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length || chunks.length === 0; at += 255) {
    const piece = bytes.subarray(at, at + 255);
    chunks.push(Buffer.from([piece.length]), piece);
  }
  return Buffer.concat(chunks);
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
