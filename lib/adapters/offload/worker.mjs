// A compose thread of OffloadPool. It loads the TypeScript it runs through tsx, as bin/takedown.mjs does: a worker
// thread does not inherit the loader its parent registered.
import { register } from 'tsx/esm/api';

register();
await import('./thread.ts');
