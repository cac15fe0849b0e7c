/**
 * `npx tsx models/federated/stepSearch.ts [pretrained=runs/simulate/pretrained-…] [lr=0.5] [clip=0.5]
 * [epochs=1] [k=128] [rm=0,1,4,16,64]`: how long a server step the dense tensors and the item rows
 * each want. K training devices (the first K of the simulation's deal) each train the dense
 * tensors and the 896 rows their sessions use most, clip to C; their average is applied × m for
 * each m of `rm` (dense only, rows only, both), and the mean loss of 200 other devices (from the
 * 10,000th) is printed. No test data is read. This chose the simulation's row server learning
 * rate (models/federated/results/README.md). The pretrained model is `npm run simulate`'s cache.
 */
import { readSplit } from '../data/readSplit';
import { useWasmBackend } from '../nodeBackend';
import { readModelDir } from '../../src/node/modelDir';
import { LocalTrainer } from '../../src/federated/localTrainer';
import { federatedDelta } from '../../src/federated/federatedDelta';
import { clipToNorm } from '../../src/federated/clipAndNoise';
import { trainableVector, withTrainable } from '../../src/server/fedAvg';
import { growItemTable } from './federatedRun';
import { simulationSetup } from './simulationSetup';
import { DEFAULT_SIMULATION } from './simulationSettings';
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
const lr = Number(args.lr ?? 0.5),
  C = Number(args.clip ?? 0.5),
  epochs = Number(args.epochs ?? 1),
  K = Number(args.k ?? 128);
const data = readSplit('../shared/data/diginetica');
await useWasmBackend();
const setup = simulationSetup(data, DEFAULT_SIMULATION);
const w = growItemTable(readModelDir(args.pretrained ?? 'runs/simulate/pretrained-c085f3a23d').weights, setup.numItems, 53);
const d = w.config.embedDim;
// rows: the most clicked items of these devices' sessions (oracle, for the diagnostic only)
const train = setup.devices.slice(0, K),
  held = setup.devices.slice(10000, 10000 + 200);
const cnt = new Map<number, number>();
for (const dev of train) for (const s of dev) for (const i of s) cnt.set(i, (cnt.get(i) ?? 0) + 1);
const rows = Int32Array.from(
  [...cnt.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 896)
    .map((e) => e[0]),
).sort();
const t = new LocalTrainer(w.config, w.items, { rows });
const denseSize = trainableVector(w.dense, w.config).length;
const sum = new Float64Array(denseSize + rows.length * d);
const start = new Float32Array(rows.length * d);
rows.forEach((r, j) => start.set(w.items.subarray(r * d, r * d + d), j * d));
let clippedN = 0,
  normSum = 0;
for (const dev of train) {
  const r = await t.train(w.dense, dev, { lr, epochs });
  const delta = new Float32Array(sum.length);
  delta.set(federatedDelta(w.dense, r.weights, w.config));
  for (let j = 0; j < r.rows!.length; j++) delta[denseSize + j] = r.rows![j]! - start[j]!;
  const n = clipToNorm(delta, C);
  normSum += n;
  if (n > C) clippedN++;
  for (let j = 0; j < delta.length; j++) sum[j]! += delta[j]!;
}
const mean = sum.map((v) => v / K);
let mn = 0;
for (const v of mean) mn += v * v;
console.log(
  `lr ${lr} C ${C} epochs ${epochs} K ${K}: mean device norm ${(normSum / K).toFixed(3)}, clipped ${clippedN}/${K}, ‖mean‖ ${Math.sqrt(mn).toFixed(4)}`,
);
const heldLoss = (items: Float32Array, dense: Map<string, Float32Array>, onTrain = false) => {
  const tr = new LocalTrainer(w.config, items);
  let s = 0;
  for (const dev of onTrain ? train.slice(0, 100) : held) s += tr.meanLoss(dense, dev);
  tr.dispose();
  return s / (onTrain ? 100 : held.length);
};
const before = trainableVector(w.dense, w.config);
for (const m of args.rm ? args.rm.split(',').map(Number) : [0, 1, 4, 16, 64]) {
  const items = Float32Array.from(w.items);
  rows.forEach((r, j) => {
    for (let c = 0; c < d; c++) items[r * d + c] = items[r * d + c]! + m * mean[denseSize + j * d + c]!;
  });
  const next = Float32Array.from(before, (v, j) => v + m * mean[j]!);
  const dense = withTrainable(w.dense, next, w.config);
  // dense-only and rows-only too
  const itemsOnly = heldLoss(items, w.dense),
    denseOnly = heldLoss(w.items, dense);
  console.log(
    `server step ×${m}: held-out loss ${heldLoss(items, dense).toFixed(4)} (rows only ${itemsOnly.toFixed(4)}, dense only ${denseOnly.toFixed(4)}); train-devices loss ${heldLoss(items, dense, true).toFixed(4)}`,
  );
}
