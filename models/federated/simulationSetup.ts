import type { SplitDataset, TestCase } from '../data/dataset';
import { Random } from '../random';
import { sample } from './centralBaselines';
import type { SimulationSettings } from './simulationSettings';

/**
 * The fixed setup every run of `npm run simulate` shares, declared before anything is measured:
 *
 * - **Time split.** The training sessions are in date order; the first half is what the shop had
 *   when it trained its model (`first`), the second half is what happens after, on devices.
 * - **Catalogue.** The shop's catalogue is every item of the split (`numItems`). Items first seen
 *   in the second half (`newItems`: their indices are `firstItems … numItems-1`, since the split
 *   numbers items in order of first appearance) are products added after the model was trained:
 *   the server knows they exist (the catalogue is public) but no one has seen an event on them.
 * - **Devices.** The second half, shuffled with a seed, is dealt in runs of `sessionsPerDevice`
 *   sessions: one device per shopper, a returning shopper's history. Every run uses the same deal.
 * - **Cases.** The full test split, and its new-item cases (targets in `newItems`): 13.9 % of the
 *   cases, which a model that never learnt those items always misses.
 */
export interface SimulationSetup {
  first: Int32Array[];
  /** Every training session (both halves): what the central ceiling trains on. */
  all: Int32Array[];
  /** Items of the first half (the pretrained model's vocabulary): indices `0 … firstItems-1`. */
  firstItems: number;
  /** Items of the catalogue (the split's vocabulary). */
  numItems: number;
  devices: Int32Array[][];
  cases: TestCase[];
  newItemCases: TestCase[];
  /** The seeded sample of test cases evaluated after each round. */
  sampleCases: TestCase[];
  /** Clicks (views) of each item in the second half: for reports only, never given to the server. */
  secondHalfClicks: Float64Array;
}

export function simulationSetup(data: SplitDataset, s: SimulationSettings): SimulationSetup {
  const half = Math.floor(data.train.length / 2);
  const first = data.train.slice(0, half);
  let firstItems = 0;
  for (const x of first) for (const i of x) firstItems = Math.max(firstItems, i + 1);
  const second = data.train.slice(half).filter((x) => x.length >= 2);
  const secondHalfClicks = new Float64Array(data.vocab.length);
  for (const x of second) for (const i of x) secondHalfClicks[i]! += 1;
  const dealt = new Random(s.seed + 3).shuffle([...second]);
  const devices: Int32Array[][] = [];
  for (let i = 0; i + s.sessionsPerDevice <= dealt.length; i += s.sessionsPerDevice) devices.push(dealt.slice(i, i + s.sessionsPerDevice));
  return {
    first,
    all: data.train,
    firstItems,
    numItems: data.vocab.length,
    devices,
    cases: data.cases,
    newItemCases: data.cases.filter((c) => c.target >= firstItems),
    sampleCases: sample(data.cases, s.evalCases, s.seed + 5),
    secondHalfClicks,
  };
}
