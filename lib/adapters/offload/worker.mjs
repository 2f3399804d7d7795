// A compose thread of OffloadPool. It loads the TypeScript it runs through tsx's require hook, in this thread: the
// ESM loader (what bin/takedown.mjs registers) would start a loader thread of its own for each compose thread.
import { createRequire } from 'node:module';
import { register } from 'tsx/cjs/api';

register();
createRequire(import.meta.url)('./thread.ts');
