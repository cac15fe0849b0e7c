import type { ModelFiles } from '../../src/model/plain/modelFiles';
import { Random } from '../random';
import { SessionModel } from '../../src/model/tfjs/sessionModel';
import type { TestCase } from '../data/dataset';
import { casesFromSessions } from '../data/readSplit';
import { evaluate } from './evaluate';
import { RankMetrics } from './metrics';
import { ModelScorer } from './modelScorers';
import type { SessionScorer } from './scorer';

/**
 * Recall@20 / MRR@20 of a model over every next-item case of a set of sessions, kept per session
 * as well, so that two models evaluated on the same sessions can be compared by a paired
 * bootstrap over sessions ({@link pairedDifference}): is the end of a run better than its start
 * beyond the metric's noise? (Used by `npm run demo-rounds`.)
 */

export interface Quality {
  recall20: number;
  mrr20: number;
  cases: number;
  /** Per evaluation session: cases, Σ recall, Σ reciprocal rank (for the paired bootstrap). */
  perSession: { cases: Float64Array; recall: Float64Array; rr: Float64Array };
  seconds: number;
}

/**
 * A scorer that hands each batch to the model scorer and also ranks every case into its session's
 * own {@link RankMetrics}, so {@link evaluate} gives the headline numbers and the same scores give
 * the per-session sums the bootstrap resamples. `evaluate` scores the cases in order, batch after
 * batch, so a cursor tells which case a row belongs to.
 */
class PerSessionScorer implements SessionScorer {
  readonly name: string;
  private cursor = 0;
  readonly metrics: RankMetrics[];

  constructor(
    private readonly inner: SessionScorer,
    private readonly cases: TestCase[],
    private readonly sessionOf: Int32Array,
    sessions: number,
    private readonly numItems: number,
  ) {
    this.name = inner.name;
    this.metrics = Array.from({ length: sessions }, () => new RankMetrics(20));
  }

  async scoreBatch(prefixes: Int32Array[], out: Float32Array): Promise<void> {
    await this.inner.scoreBatch(prefixes, out);
    for (let b = 0; b < prefixes.length; b++) {
      const c = this.cursor + b;
      this.metrics[this.sessionOf[c]!]!.add(out.subarray(b * this.numItems, (b + 1) * this.numItems), this.cases[c]!.target);
    }
    this.cursor += prefixes.length;
  }
}

export interface EvalSet {
  sessions: Int32Array[];
  cases: TestCase[];
  sessionOf: Int32Array;
}

export function evalSet(sessions: Int32Array[]): EvalSet {
  const cases: TestCase[] = [];
  const owner: number[] = [];
  sessions.forEach((s, i) => {
    for (const c of casesFromSessions([s])) {
      cases.push(c);
      owner.push(i);
    }
  });
  return { sessions, cases, sessionOf: Int32Array.from(owner) };
}

export async function quality(files: Pick<ModelFiles, 'manifest' | 'items' | 'dense' | 'vocab'>, set: EvalSet): Promise<Quality> {
  const model = new SessionModel(files.manifest.config, files.items, files.dense);
  try {
    const n = files.manifest.config.numItems;
    const scorer = new PerSessionScorer(
      new ModelScorer('model', model, files.vocab, files.vocab),
      set.cases,
      set.sessionOf,
      set.sessions.length,
      n,
    );
    const r = await evaluate(scorer, set.cases, n, { batchSize: 256 });
    const per = {
      cases: new Float64Array(set.sessions.length),
      recall: new Float64Array(set.sessions.length),
      rr: new Float64Array(set.sessions.length),
    };
    scorer.metrics.forEach((m, i) => {
      const q = m.result();
      per.cases[i] = q.cases;
      per.recall[i] = q.recall * q.cases;
      per.rr[i] = q.mrr * q.cases;
    });
    return { recall20: r.recall20, mrr20: r.mrr20, cases: r.cases, perSession: per, seconds: r.seconds };
  } finally {
    model.dispose();
  }
}

/** End − start of a case-weighted mean, with a paired bootstrap over sessions and the standard error of the difference. */
export interface Difference {
  diff: number;
  /** 95 % percentile interval of the bootstrap. */
  low: number;
  high: number;
  /** Bootstrap standard error. */
  se: number;
  /** Share of bootstrap resamples in which the end is not better than the start. */
  pNotBetter: number;
}

export function pairedDifference(start: Quality, end: Quality, metric: 'recall' | 'rr', resamples: number, seed: number): Difference {
  const n = start.perSession.cases.length;
  const cases = start.perSession.cases;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = end.perSession[metric][i]! - start.perSession[metric][i]!;
  const total = cases.reduce((a, b) => a + b, 0);
  const diff = d.reduce((a, b) => a + b, 0) / total;
  const rng = new Random(seed);
  const stats = new Float64Array(resamples);
  let notBetter = 0;
  for (let r = 0; r < resamples; r++) {
    let sd = 0;
    let sc = 0;
    for (let k = 0; k < n; k++) {
      const i = rng.int(n);
      sd += d[i]!;
      sc += cases[i]!;
    }
    stats[r] = sc > 0 ? sd / sc : 0;
    if (stats[r]! <= 0) notBetter++;
  }
  const sorted = Float64Array.from(stats).sort();
  const mean = stats.reduce((a, b) => a + b, 0) / resamples;
  const se = Math.sqrt(stats.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(resamples - 1, 1));
  return {
    diff,
    low: sorted[Math.floor(0.025 * resamples)]!,
    high: sorted[Math.min(resamples - 1, Math.ceil(0.975 * resamples) - 1)]!,
    se,
    pNotBetter: notBetter / resamples,
  };
}
