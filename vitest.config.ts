import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // native modules (better-sqlite3) and child processes are happiest in forks
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // CI may be the only thing on the machine, a developer's machine is not: two workers on two cores
    maxWorkers: 2,
    allowOnly: false,
    reporters: ['default', './test/support/closing-line.ts'],
    passWithNoTests: false,
  },
});
