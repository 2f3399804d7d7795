import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/core/errors.js';
import { canonicalize, wellFormed } from '../../lib/core/audit/jcs.js';
import { sha256Hex } from '../../lib/core/audit/sha256.js';

/** The double with these IEEE 754 bits. */
function double(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${bits}`));
  return view.getFloat64(0);
}

describe('canonicalize (RFC 8785)', () => {
  it('writes the example of section 3.2.2 byte for byte', () => {
    // parsed from the RFC's own input text, so the numbers are the doubles the RFC means
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        '"literals": [null, true, false]}',
    ) as unknown;

    const text = canonicalize(input);

    expect(text).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
    expect(Buffer.from(text, 'utf8').toString('hex')).toBe(
      '7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b3333333333333333332e333333' +
        '333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e67223a22e282ac245c75303030665c6e4127' +
        '425c225c5c5c5c5c222f227d',
    );
  });

  it('sorts members by their UTF-16 code units, as in section 3.2.3', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };

    // the input's own member order puts "1" first (integer-like keys lead in JS): the sort must not keep it there
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('writes every finite number of Appendix B as the RFC does', () => {
    const samples: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];

    expect(samples.map(([bits]) => canonicalize(double(bits)))).toStrictEqual(samples.map(([, text]) => text));
  });

  it('refuses what has no canonical form: NaN, the infinities, unpaired surrogates, non-JSON values', () => {
    for (const bad of [double('7fffffffffffffff'), double('7ff0000000000000'), -Infinity, { s: 'a\ud800b' }, { f: () => 1 }, [undefined], new Date(0), 1n]) {
      expect(() => canonicalize(bad)).toThrow(InvalidInputError);
    }
  });

  it('leaves out a member whose value is undefined, as JSON.stringify does, and keeps array order', () => {
    expect(canonicalize({ b: [3, 1, 2], a: undefined, c: { z: 1, y: [] } })).toBe('{"b":[3,1,2],"c":{"y":[],"z":1}}');
  });

  it('makes any text canonicalizable once its unpaired surrogates are replaced', () => {
    expect(canonicalize(wellFormed('a\ud800b\udc00c\ud83d\ude00'))).toBe('"a\ufffdb\ufffdc\ud83d\ude00"');
  });
});

describe('sha256Hex', () => {
  it('gives the FIPS 180-4 digests of "abc" and of the empty string', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('agrees with node:crypto on every length around the block boundaries and on UTF-8 text', () => {
    const inputs: (string | Uint8Array)[] = [];
    for (let n = 0; n <= 200; n++) inputs.push(randomBytes(n));
    inputs.push(randomBytes(100_000), 'Takedown — نشر — 😀', 'x'.repeat(55), 'x'.repeat(56), 'x'.repeat(64));

    const ours = inputs.map((input) => sha256Hex(input));

    expect(ours).toStrictEqual(inputs.map((input) => createHash('sha256').update(input).digest('hex')));
  });
});
