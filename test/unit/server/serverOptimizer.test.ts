import { describe, expect, it } from 'vitest';
import { ServerOptimizer } from '../../../src/server/serverOptimizer';

describe('ServerOptimizer', () => {
  it('sgd adds lr × the averaged update', () => {
    const p = Float32Array.from([1, 2, 3]);
    new ServerOptimizer(3, { kind: 'sgd', lr: 0.5 }).step(p, 0, [2, -2, 0]);
    expect([...p]).toEqual([2, 1, 3]);
  });

  it('momentum (FedAvgM) accumulates a steady update to lr / (1 − β) per round', () => {
    const p = new Float32Array(1);
    const o = new ServerOptimizer(1, { kind: 'momentum', lr: 0.1, beta1: 0.9 });
    o.step(p, 0, [1]);
    expect(p[0]).toBeCloseTo(0.1, 6);
    o.step(p, 0, [1]);
    expect(p[0]).toBeCloseTo(0.1 + 0.19, 6);
    const before = p[0]!;
    for (let t = 0; t < 200; t++) o.step(p, 0, [1]);
    const last = p[0]!;
    o.step(p, 0, [1]);
    expect(p[0]! - last).toBeCloseTo(1, 3);
    expect(last).toBeGreaterThan(before);
  });

  it('adam gives a coordinate with a tiny update nearly the step of one with a large update (what rare rows need)', () => {
    const p = new Float32Array(2);
    const o = new ServerOptimizer(2, { kind: 'adam', lr: 0.01, tau: 1e-6 });
    for (let t = 0; t < 5; t++) o.step(p, 0, [1e-3, 1]);
    // Plain averaging would move them 1000× apart; FedAdam moves both by about the same amount.
    expect(p[0]! / p[1]!).toBeGreaterThan(0.9);
    expect(p[1]!).toBeGreaterThan(0);
  });

  it('adam keeps moments per coordinate: a row updated at another offset does not disturb them', () => {
    const o = new ServerOptimizer(4, { kind: 'adam', lr: 0.1 });
    const table = new Float32Array(4);
    o.step(table, 2, [1, 1]);
    const after = Float32Array.from(table);
    o.step(table, 0, [0, 0]);
    expect(table.subarray(2)).toEqual(after.subarray(2));
    expect([...table.subarray(0, 2)]).toEqual([0, 0]);
    expect(() => o.step(table, 3, [1, 1])).toThrow(RangeError);
  });

  it('refuses a bad learning rate or β', () => {
    expect(() => new ServerOptimizer(1, { kind: 'sgd', lr: 0 })).toThrow(RangeError);
    expect(() => new ServerOptimizer(1, { kind: 'adam', lr: 0.1, beta2: 1 })).toThrow(RangeError);
  });
});
