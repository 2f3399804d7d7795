import { fileURLToPath } from 'node:url';

/** The repository root: bundling entries, the ASL files and the directory are resolved from it, not from the cwd. */
export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
