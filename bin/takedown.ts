/** The `takedown` CLI entry point: everything it does lives in lib/local/cli/main.ts. */
export { main } from '../lib/local/cli/main.js';
