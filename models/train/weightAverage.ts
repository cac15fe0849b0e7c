import type { ModelConfig } from '../../src/model/plain/modelConfig';
import type { ModelWeights } from '../../src/node/modelDir';

/**
 * The mean of the weights at snapshots taken over the last epochs of a run (Polyak averaging, as
 * in SWA: Izmailov et al., "Averaging Weights Leads to Wider Optima and Better Generalization",
 * UAI 2018). With `--average-epochs K` a run ships this mean instead of its last weights.
 */
export class WeightAverage {
  /** Snapshots summed so far. */
  count = 0;
  readonly items: Float32Array;
  readonly dense = new Map<string, Float32Array>();

  constructor(itemValues: number, denseSizes: Iterable<[string, number]>) {
    this.items = new Float32Array(itemValues);
    for (const [name, size] of denseSizes) this.dense.set(name, new Float32Array(size));
  }

  /** Adds one snapshot of the weights. */
  add(items: Float32Array, dense: Map<string, Float32Array>): void {
    addInto(this.items, items);
    for (const [name, sum] of this.dense) {
      const w = dense.get(name);
      if (!w) throw new Error(`weight average: the snapshot lacks "${name}"`);
      addInto(sum, w);
    }
    this.count++;
  }

  /** The mean of the snapshots as model weights. */
  weights(config: ModelConfig): ModelWeights {
    if (this.count === 0) throw new Error('weight average: no snapshot yet');
    const k = 1 / this.count;
    return {
      config,
      items: this.items.map((v) => v * k),
      dense: new Map([...this.dense].map(([name, sum]) => [name, sum.map((v) => v * k)])),
    };
  }
}

function addInto(sum: Float32Array, x: Float32Array): void {
  if (sum.length !== x.length) throw new Error(`weight average: ${x.length} values where ${sum.length} were summed`);
  for (let i = 0; i < sum.length; i++) sum[i]! += x[i]!;
}

/**
 * Whether the run snapshots its weights after batch `batch` (1-based) of epoch `epoch` (0-based):
 * four times per epoch (at each quarter and at the epoch's end) during the last `averageEpochs`
 * epochs of `epochs`.
 */
export function isSnapshotBatch(epoch: number, batch: number, perEpoch: number, epochs: number, averageEpochs: number): boolean {
  if (averageEpochs <= 0 || epoch < epochs - averageEpochs) return false;
  const quarter = Math.ceil(perEpoch / 4);
  return batch % quarter === 0 || batch === perEpoch;
}
