/** The loopback DNS server of the embedded demo, which tests use as their DNS stub. */
export { startDnsStub, type DnsRecords, type DnsStub } from '../../lib/adapters/probe/dns-stub.js';
