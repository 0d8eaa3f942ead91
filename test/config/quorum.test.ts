import * as fc from 'fast-check';
import { isMajority, quorumFor } from '../../src/config/quorum';

describe('quorumFor', () => {
  it.each([
    [1, 1], [2, 2], [3, 2], [4, 3], [5, 3], [6, 4], [7, 4], [9, 5], [15, 8],
  ])('quorumFor(%i) is %i', (sentinels, quorum) => {
    expect(quorumFor(sentinels)).toBe(quorum);
  });

  it.each([0, -1, 1.5, NaN, Infinity])('refuses %p sentinels', (n) => {
    expect(() => quorumFor(n)).toThrow(/sentinels/);
  });

  it('is a strict majority for every n in 1..99, and quorumFor(n) - 1 is not', () => {
    for (let n = 1; n <= 99; n++) {
      const q = quorumFor(n);
      expect(q * 2).toBeGreaterThan(n);
      expect((q - 1) * 2).toBeLessThanOrEqual(n);
      expect(q).toBeLessThanOrEqual(n);
    }
  });

  it('property: quorumFor(n) is the smallest strict majority of n (n in 1..99)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 99 }), (n) => {
      const q = quorumFor(n);
      return Number.isInteger(q) && q >= 1 && q <= n && 2 * q > n && !(2 * (q - 1) > n)
        && isMajority(q, n) && !isMajority(q - 1, n);
    }), { numRuns: 500 });
  });

  it('property: two disjoint groups of quorumFor(n) sentinels cannot exist', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 99 }), (n) => quorumFor(n) * 2 > n));
  });
});

describe('isMajority', () => {
  it('is true exactly when more than half agree', () => {
    expect(isMajority(2, 3)).toBe(true);
    expect(isMajority(1, 3)).toBe(false);
    expect(isMajority(2, 4)).toBe(false);
    expect(isMajority(3, 4)).toBe(true);
    expect(isMajority(1, 1)).toBe(true);
  });

  it('property: agrees with 2q > n for every q in 0..n', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 99 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n }))),
      ([n, q]) => isMajority(q, n) === (2 * q > n)));
  });
});
