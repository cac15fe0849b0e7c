/**
 * Tunes the SKNN and V-SKNN baselines on a held-out tail of the TRAINING sessions (never the
 * test set) by coordinate search on Recall@20, and prints the settings to put in
 * `baselines/index.ts`.
 *
 *   npx tsx models/eval/tuneKnn.ts --data /work/shared/data/diginetica [--holdout 0.05]
 *
 * The tail stands in for the test week: `train_sessions.txt` is chronological and the test set
 * is the 7 days after it, about 5% of the training sessions' count, so the default hold-out is
 * the last 5% of sessions, scored against a model built from the first 95%.
 */
import type { TestCase } from '../data/dataset';
import { casesFromSessions, readSplit } from '../data/readSplit';
import { evaluate } from './evaluate';
import type { SessionScorer } from './scorer';
import { SknnScorer, type SknnOptions } from './baselines/sknn';
import { VsknnScorer, type VsknnOptions, type Decay } from './baselines/vsknn';

type Grid<T> = { [K in keyof T]-?: readonly T[K][] };

/** Greedy coordinate search: sweep one parameter at a time around the best point, twice. */
async function coordinateSearch<T extends object>(
  label: string,
  start: Required<T>,
  grid: Grid<T>,
  make: (options: Required<T>) => SessionScorer,
  run: (scorer: SessionScorer) => Promise<{ recall20: number; mrr20: number }>,
): Promise<Required<T>> {
  const seen = new Map<string, { recall20: number; mrr20: number }>();
  const score = async (o: Required<T>) => {
    const key = JSON.stringify(o);
    let r = seen.get(key);
    if (!r) {
      r = await run(make(o));
      seen.set(key, r);
      process.stderr.write(`${label} ${key} recall20=${r.recall20.toFixed(4)} mrr20=${r.mrr20.toFixed(4)}\n`);
    }
    return r.recall20;
  };
  let best = { ...start };
  let bestScore = await score(best);
  for (let round = 0; round < 2; round++) {
    for (const name of Object.keys(grid) as (keyof T)[]) {
      for (const value of grid[name]) {
        const candidate = { ...best, [name]: value } as Required<T>;
        const s = await score(candidate);
        if (s > bestScore) {
          best = candidate;
          bestScore = s;
        }
      }
    }
  }
  return best;
}

/** Splits training sessions into a head to fit on and validation cases from the tail. */
function holdOut(train: Int32Array[], numItems: number, share: number): { fit: Int32Array[]; cases: TestCase[] } {
  const cut = Math.floor(train.length * (1 - share));
  const fit = train.slice(0, cut);
  const known = new Uint8Array(numItems);
  for (const s of fit) for (let k = 0; k < s.length; k++) known[s[k]!] = 1;
  // As in the published split: items unseen in training are dropped from the held-out sessions.
  const tail = train
    .slice(cut)
    .map((s) => s.filter((i) => known[i] === 1))
    .filter((s) => s.length >= 2);
  return { fit, cases: casesFromSessions(tail) };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dataAt = args.indexOf('--data');
  const holdAt = args.indexOf('--holdout');
  if (dataAt < 0 || !args[dataAt + 1]) {
    process.stderr.write('usage: tsx models/eval/tuneKnn.ts --data <split dir> [--holdout 0.05]\n');
    process.exit(2);
  }
  const share = holdAt >= 0 ? Number(args[holdAt + 1]) : 0.05;
  const data = readSplit(args[dataAt + 1]!);
  const numItems = data.vocab.length;
  const { fit, cases } = holdOut(data.train, numItems, share);
  process.stderr.write(`fit on ${fit.length} sessions, validate on ${cases.length} cases from the last ${share * 100}%\n`);
  const run = (s: SessionScorer) => evaluate(s, cases, numItems);

  const sknn = await coordinateSearch<SknnOptions>(
    'sknn',
    { k: 100, sampleSize: 500 },
    { k: [50, 100, 200, 500], sampleSize: [250, 500, 1000, 2500, 5000] },
    (o) => new SknnScorer(fit, numItems, o),
    run,
  );
  const decays: Decay[] = ['same', 'div', 'quadratic', 'log'];
  const vsknn = await coordinateSearch<VsknnOptions>(
    'vsknn',
    { k: 100, sampleSize: 1000, weighting: 'div', weightingScore: 'div', idfWeighting: 5 },
    {
      k: [50, 100, 200, 500],
      sampleSize: [500, 1000, 2500, 5000],
      weighting: decays,
      weightingScore: decays,
      idfWeighting: [0, 1, 2, 5, 10],
    },
    (o) => new VsknnScorer(fit, numItems, o),
    run,
  );
  process.stdout.write(`${JSON.stringify({ sknn, vsknn })}\n`);
}

await main();
