/** The `takedown` CLI entry point: everything it does lives in lib/local/cli.ts. */
export { main } from '../lib/local/cli.js';
