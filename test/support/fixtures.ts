import { fileURLToPath } from 'node:url';

/*
 * The real-world data the tests read, copied byte for byte into test/fixtures/ (each folder has its source's
 * licence and a README saying where it came from), so a clone of the repository alone runs every test.
 * Each constant is a folder path ending in a slash.
 */

const fixture = (folder: string): string => fileURLToPath(new URL(`../fixtures/${folder}/`, import.meta.url));

/** sisimai/set-of-emails: 629 real bounces, auto-replies and ARF reports, and labels.json from rb-sisimai. */
export const SISIMAI = fixture('sisimai');

/** xarf/xarf-spec: the XARF v4 schemas (schemas/v4/) and official samples (samples/v4/). */
export const XARF = fixture('xarf');

/** oasis-open/cti-stix2-json-schemas: STIX 2.1 example bundles (indicators, infrastructure, markings). */
export const STIX = fixture('stix');

/**
 * Real RDAP answers: ipwhois/rdap.json (secynic/ipwhois), icann-rdap/*.json (icann/icann-rdap) and
 * openrdap/domain-example.cz.json (openrdap/rdap), the files test/fixtures/rdap-expected.json names.
 */
export const RDAP = fixture('rdap');
