#!/usr/bin/env node
// The `takedown` command. The project runs its TypeScript through tsx, so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./takedown.ts');
process.exitCode = await main(process.argv);
