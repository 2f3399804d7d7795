import { describe, expect, it } from 'vitest';
import { canMoveCase } from '../lib/core/lifecycle.js';

describe('lifecycle', () => {
  it('refuses to reopen a cancelled case', () => {
    expect(canMoveCase('cancelled', 'open')).toBe(false);
    expect(canMoveCase('notified', 'acknowledged')).toBe(true);
  });
});
