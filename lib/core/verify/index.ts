/**
 * Verification: probing what a party says it took down (the meaning of a probe's observations), closing a case on
 * evidence only, and watching for its revival.
 * This file is the context's public face: other contexts and the hosts import only what it exports.
 */
export { DEFAULT_SINKHOLES, PARKED_SCAN_BYTES, detectParked, dnsOutcome, failureOutcome, httpOutcome, parseSinkholes, planProbe, shouldRetry, tcpOutcome, type ConnectFailure, type ConnectResult, type DnsAnswer, type ProbeOutcome, type ProbePhase, type ProbePlan, type ProbeRequest, type ProbeResult, type Prober, type SinkholeList } from './probe.js';
export { VERIFYING, parseVerifyingMark, resumeVerification, startVerification, verifyNotice } from './verify.js';
