import { describe, expect, it } from 'vitest';
import { JsonScanError, lineColumn, scanJson } from '../../lib/core/intake/formats/json-scan.js';

function fault(text: string): JsonScanError {
  try {
    const scanned = scanJson(text, 'objects');
    if (scanned.kind !== 'other' && 'lazy' in scanned && scanned.lazy) [...scanned.lazy];
    throw new Error('expected a JsonScanError');
  } catch (e) {
    if (!(e instanceof JsonScanError)) throw e;
    return e;
  }
}

describe('scanJson', () => {
  it('parses the small members whole and the large array one element at a time, in order', () => {
    const text = '{"type": "bundle", "objects": [{"a": "x]}\\"{["}, [1, [2]], "s", 3, null], "id": "bundle--1"}';
    const scanned = scanJson(text, 'objects');
    if (scanned.kind !== 'object' || !scanned.lazy) throw new Error('expected an object with a lazy array');
    expect(scanned.members).toEqual({ type: 'bundle', id: 'bundle--1' });
    expect(scanned.lazy.length).toBe(5);
    expect([...scanned.lazy]).toEqual([{ a: 'x]}"{[' }, [1, [2]], 's', 3, null]);
    expect([...scanned.lazy.texts()][0]).toBe('{"a": "x]}\\"{["}');
  });

  it('leaves every element of a top-level array lazy, and parses other documents whole', () => {
    const scanned = scanJson(' [ {"id": 1} , {"id": 2} ] ', 'objects');
    expect(scanned.kind === 'array' && [...scanned.lazy]).toEqual([{ id: 1 }, { id: 2 }]);
    expect(scanJson('"just a string"', 'objects')).toEqual({ kind: 'other', value: 'just a string' });
    expect(scanJson('{"objects": {"not": "an array"}}', 'objects')).toEqual({ kind: 'object', members: { objects: { not: 'an array' } } });
  });

  it('keeps a member named __proto__ as a member, not as the prototype', () => {
    const scanned = scanJson('{"__proto__": {"polluted": true}}', 'objects');
    if (scanned.kind !== 'object') throw new Error('expected an object');
    expect(Object.getPrototypeOf(scanned.members)).toBe(Object.prototype);
    expect(Object.keys(scanned.members)).toEqual(['__proto__']);
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('says where the text stops being JSON, and which element', () => {
    expect(fault('{"a": 1,\n "b": }').fault).toMatchObject({ line: 2 });
    expect(fault('{"objects": [{"ok": 1},\n {"bad": tru}]}').fault).toEqual({ line: 2, column: 2, element: 1 });
    expect(fault('{"a": 1} trailing').fault).toMatchObject({ line: 1 });
    expect(fault('{"a": "unclosed').fault).toMatchObject({ line: 1 });
    expect(fault('[1, 2').fault).toMatchObject({ line: 1 });
  });

  it('counts lines and columns from 1', () => {
    expect(lineColumn('ab\ncd\nef', 4)).toEqual({ line: 2, column: 2 });
    expect(lineColumn('abc', 0)).toEqual({ line: 1, column: 1 });
  });
});
