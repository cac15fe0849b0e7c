import { describe, expect, it } from 'vitest';
import type { FederatedState } from '../../../src/federated/federatedState';
import { roundParticipation } from '../../../src/federated/contribution/roundParticipation';
import type { ServerModelInfo } from '../../../src/federated/contribution/serverModel';
import { Random } from '../../../models/random';

const fresh = (): FederatedState => ({ contributedAtEvents: 0, modelUrl: null, pending: null, uploads: [] });
const server = (roundId: string, samplingRate?: number): ServerModelInfo => ({
  modelVersion: 'v',
  modelUrl: 'http://x/model.json',
  round: { id: roundId, target: 3, received: 0, deadline: 0, samplingRate },
  privacy: { clipNorm: 0.1, noiseStd: 0.01, noiseMultiplier: 1 },
});

describe('roundParticipation: at most once per round, Poisson-sampled on the device', () => {
  it('takes part in a round at most once', () => {
    const state = { ...fresh(), contributedRounds: ['7'] };
    expect(roundParticipation(state, server('7'))).toMatch(/already contributed to round 7/);
    expect(roundParticipation(state, server('8'))).toBeNull();
  });

  it('draws once per round: asking again (a reload) gives the same answer', () => {
    const rng = new Random(3);
    let joined = 0;
    for (let i = 0; i < 4000; i++) {
      const state = fresh();
      const first = roundParticipation(state, server('1', 0.25), () => rng.next());
      for (let k = 0; k < 5; k++) expect(roundParticipation(state, server('1', 0.25), () => rng.next())).toBe(first);
      if (first === null) joined++;
    }
    // 4,000 draws at q = 0.25: 1,000 ± 27 (sd); 6 sd either side.
    expect(joined).toBeGreaterThan(1000 - 165);
    expect(joined).toBeLessThan(1000 + 165);
  });

  it('draws anew for a new round, and takes part in every round when q is 1 or absent', () => {
    const state = fresh();
    const never = () => 0.999999;
    expect(roundParticipation(state, server('1', 0.5), never)).toMatch(/not sampled for round 1/);
    expect(roundParticipation(state, server('2', 0.5), () => 0)).toBeNull();
    expect(roundParticipation(fresh(), server('1', 1), never)).toBeNull();
    expect(roundParticipation(fresh(), server('1'), never)).toBeNull();
    // A nonsensical rate from a server is treated as 1, never as a reason to skip forever.
    expect(roundParticipation(fresh(), server('1', -3), never)).toBeNull();
  });
});
