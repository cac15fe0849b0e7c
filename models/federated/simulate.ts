/**
 * `npm run simulate -- [options]`: federated learning on DIGINETICA, simulated in Node through the
 * same client code the browser runs (`src/federated/`) and the same server code that aggregates
 * (`src/server/validateUpdate`, `fedAvg`, `privacyAccountant`).
 *
 * 1. The training sessions (in date order) are split in half. The first half pretrains the whole
 *    model centrally ("pretrained"). The second half is dealt (seeded) to simulated devices of
 *    `--sessions-per-device` sessions each.
 * 2. "centralized": the federated tensors only, trained centrally on the second half (the bar).
 * 3. "fedavg" and "fedavg_dp": rounds of K devices; DP adds noise σ·C/√K per device. The two runs
 *    go in two child processes (one core each) unless `--sequential`.
 * Quality after each round is measured on a fixed seeded sample of test cases; final models on the
 * full split. Pretrained and centralized models (and their evaluations) are cached in `--cache`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDuration, numberArg, parseArgs, runCli } from '../../src/node/cliArgs';
import type { TestCase } from '../data/dataset';
import { readSplit } from '../data/readSplit';
import { evaluate } from '../eval/evaluate';
import { ModelScorer } from '../eval/modelScorers';
import { SessionModel } from '../../src/model/tfjs/sessionModel';
import { progressReporter } from '../eval/progress';
import { useWasmBackend } from '../nodeBackend';
import { Random } from '../random';
import { federatedSize } from '../../src/federated/modelUpdate';
import { epsilonFor } from '../../src/server/privacyAccountant';
import type { ModelWeights } from '../../src/node/modelDir';
import { readJsonMaybe, runKey, sample, trainCentral } from './centralBaselines';
import { runFederated, type RoundRow } from './federatedRun';
import { plotSvg } from './plotSvg';
import { centralRun, DEFAULT_SIMULATION, pretrainRun, type SimulationSettings } from './simulationSettings';

const OPTIONS: Array<[keyof SimulationSettings, string, number, number, string]> = [
  ['rounds', 'rounds', 1, 100000, 'federated rounds per run'],
  ['clientsPerRound', 'clients-per-round', 1, 1e6, 'devices sampled per round (K)'],
  ['sessionsPerDevice', 'sessions-per-device', 1, 1000, 'second-half sessions per simulated device'],
  ['clipNorm', 'clip-norm', 1e-6, 1e6, 'L2 clip norm C of a device delta'],
  ['noiseMultiplier', 'noise-multiplier', 0, 100, 'σ of the DP run (each device adds σ·C/√K)'],
  ['delta', 'delta', 1e-12, 0.1, 'δ of the reported (ε, δ)'],
  ['localEpochs', 'local-epochs', 1, 1000, "local passes over a device's sessions per round"],
  ['localLr', 'local-lr', 1e-6, 100, 'local SGD learning rate'],
  ['serverLr', 'server-lr', 1e-6, 100, 'server learning rate (1 = plain FedAvg)'],
  ['evalCases', 'eval-cases', 100, 1e7, 'seeded test sample evaluated after each round'],
  ['pretrainEpochs', 'pretrain-epochs', 1, 100, 'centralized pretraining epochs on the first half'],
  ['centralEpochs', 'central-epochs', 1, 100, 'epochs of the centralized reference on the second half'],
  ['seed', 'seed', 0, 2 ** 31, 'random seed'],
];

const USAGE = `usage: npm run simulate -- [--data <split dir>] [--cache <dir>] [--plot <file.svg>] [--json] [--sequential]
${OPTIONS.map(([k, o, , , h]) => `  --${o.padEnd(20)} ${h} (default ${DEFAULT_SIMULATION[k]})`).join('\n')}`;

const log = (m: string): void => void process.stderr.write(m + '\n');

interface Quality {
  recall20: number;
  mrr20: number;
}
interface ChildResult {
  rows: RoundRow[];
  full: Quality;
  updateBytes: number;
  rejected: Record<string, number>;
  seconds: number;
}

/**
 * Quality of a cached model on the full split (cached as `eval-full.json` beside it) and on the
 * per-round sample (`eval-sample-<tag>.json`), so a rerun with other federated settings reuses both.
 */
async function evalCached(
  dir: string,
  w: ModelWeights,
  ev: ModelEval,
  sampleCases: TestCase[],
  allCases: TestCase[],
  tag: string,
): Promise<{ full: Quality; sample: Quality }> {
  const q = async (file: string, cases: TestCase[]): Promise<Quality> => {
    const path = join(dir, file);
    const cached = readJsonMaybe<Quality>(path);
    if (cached) return cached;
    const out = await ev(w, cases, file);
    writeFileSync(path, JSON.stringify(out) + '\n');
    return out;
  };
  return { sample: await q(`eval-sample-${tag}.json`, sampleCases), full: await q('eval-full.json', allCases) };
}

type ModelEval = (w: ModelWeights, cases: TestCase[], label?: string) => Promise<Quality>;

/**
 * Evaluates models whose vocabulary is the first `modelItems` items of the data's (the items of
 * the first half): prefixes lose the items the model does not know and those items score
 * -Infinity, exactly as the shipped SDK treats products missing from its vocab.txt.
 */
function modelEval(dataVocab: string[], modelItems: number): ModelEval {
  const modelVocab = dataVocab.slice(0, modelItems);
  return async (w, cases, label) => {
    const scorer = new ModelScorer('m', new SessionModel(w.config, w.items, w.dense), modelVocab, dataVocab);
    try {
      const r = await evaluate(scorer, cases, dataVocab.length, {
        batchSize: 256,
        ...(label ? { onProgress: progressReporter(label, process.stderr, 30) } : {}),
      });
      return { recall20: r.recall20, mrr20: r.mrr20 };
    } finally {
      scorer.model.dispose();
    }
  };
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    log(USAGE);
    return;
  }
  const args = parseArgs(argv, ['data', 'cache', 'plot', 'child', 'child-out', ...OPTIONS.map((o) => o[1])], ['json', 'sequential']);
  const s: SimulationSettings = { ...DEFAULT_SIMULATION };
  for (const [key, opt, min, max] of OPTIONS) s[key] = numberArg(args, opt, s[key], min, max);
  const dataDir = args.get('data') ?? '../shared/data/diginetica';
  const cache = args.get('cache') ?? 'runs/simulate';
  const plotPath = args.get('plot') ?? join(cache, 'simulation.svg');
  const child = args.get('child');
  const started = performance.now();

  const data = readSplit(dataDir);
  const backend = await useWasmBackend();
  const half = Math.floor(data.train.length / 2);
  const first = data.train.slice(0, half);
  // The vocabulary lists items in order of first appearance, so the first half's items are
  // exactly the indices below `numItems`: the catalogue the pretrained model is published with.
  let numItems = 0;
  for (const x of first) for (const i of x) numItems = Math.max(numItems, i + 1);
  const modelVocab = data.vocab.slice(0, numItems);
  // A device cannot embed a product missing from the published vocab.txt: it skips such items
  // (as the SDK's scorer does), and sessions left with fewer than 2 items teach nothing.
  const second = data.train
    .slice(half)
    .map((x) => x.filter((i) => i < numItems))
    .filter((x) => x.length >= 2);
  const ev = modelEval(data.vocab, numItems);
  const dealt = new Random(s.seed + 3).shuffle([...second]);
  const devices: Int32Array[][] = [];
  for (let i = 0; i + s.sessionsPerDevice <= dealt.length; i += s.sessionsPerDevice) devices.push(dealt.slice(i, i + s.sessionsPerDevice));
  const sampleCases = sample(data.cases, s.evalCases, s.seed + 5);
  const evalTag = `${s.evalCases}-${s.seed}`;
  mkdirSync(cache, { recursive: true });

  const pre = pretrainRun(s);
  const preKey = runKey('pretrained', pre, first.length, numItems);
  const pretrained = await trainCentral(cache, preKey, pre, first, numItems, modelVocab, null, log);
  const size = federatedSize(pretrained.config);

  if (child) {
    const sigma = child === 'fedavg_dp' ? s.noiseMultiplier : 0;
    const t0 = performance.now();
    const r = await runFederated({
      name: child,
      settings: s,
      noiseMultiplier: sigma,
      start: pretrained,
      devices,
      evaluate: (w) => ev(w, sampleCases),
      log,
    });
    log(`[${child}] evaluating the final model on the full split (${data.cases.length} cases)…`);
    const full = await ev(r.weights, data.cases, `${child} full split`);
    const result: ChildResult = {
      rows: r.rows,
      full: { recall20: full.recall20, mrr20: full.mrr20 },
      updateBytes: r.updateBytes,
      rejected: r.rejected,
      seconds: (performance.now() - t0) / 1000,
    };
    writeFileSync(args.get('child-out') ?? join(cache, `${child}.json`), JSON.stringify(result) + '\n');
    return;
  }

  log(
    `backend ${backend}; ${data.train.length} training sessions: ${first.length} pretrain (first half), ${second.length} of the second half with ≥ 2 known items → ${devices.length} devices of ${s.sessionsPerDevice}; ` +
      `${numItems} of ${data.vocab.length} items seen in the first half, ${size} federated values; per-round evaluation on ${sampleCases.length} seeded test cases, final models on all ${data.cases.length}`,
  );
  const preEval = await evalCached(join(cache, preKey), pretrained, ev, sampleCases, data.cases, evalTag);
  log(`pretrained: full R@20 ${preEval.full.recall20.toFixed(4)} MRR@20 ${preEval.full.mrr20.toFixed(4)}`);
  const cen = centralRun(s, preKey);
  const cenKey = runKey('centralized', cen, second.length, numItems);
  const centralized = await trainCentral(cache, cenKey, cen, second, numItems, modelVocab, pretrained, log);
  const cenEval = await evalCached(join(cache, cenKey), centralized, ev, sampleCases, data.cases, evalTag);
  log(`centralized: full R@20 ${cenEval.full.recall20.toFixed(4)} MRR@20 ${cenEval.full.mrr20.toFixed(4)}`);
  centralized.dense.clear();

  // The two federated runs: child processes in parallel (one wasm thread each), or here in turn.
  const runs = ['fedavg', 'fedavg_dp'] as const;
  const results: Record<string, ChildResult> = {};
  const me = fileURLToPath(import.meta.url);
  const runChild = (name: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const out = join(cache, `${name}.json`);
      const childArgs = [...argv.filter((a) => a !== '--json' && a !== '--sequential'), '--child', name, '--child-out', out];
      const p = spawn(process.execPath, [...process.execArgv, me, ...childArgs], { stdio: ['ignore', 'ignore', 'inherit'] });
      p.on('error', reject);
      p.on('exit', (code) => {
        if (code !== 0) return reject(new Error(`the ${name} run exited with code ${code}`));
        results[name] = JSON.parse(readFileSync(out, 'utf8')) as ChildResult;
        resolve();
      });
    });
  if (args.has('sequential')) for (const name of runs) await runChild(name);
  else await Promise.all(runs.map(runChild));

  const n = devices.length;
  const q = s.clientsPerRound / n;
  const eps =
    s.noiseMultiplier > 0
      ? epsilonFor({ noiseMultiplier: s.noiseMultiplier, samplingRate: q, rounds: s.rounds, delta: s.delta }).epsilon
      : Infinity;
  const shipped = readJsonMaybe<{ test?: { int8?: Quality; float?: Quality } }>('models/diginetica/metadata.json');
  const newTargets = data.cases.filter((c) => c.target >= numItems).length;
  const centralGain = cenEval.full.recall20 - preEval.full.recall20;
  const gain = (r: Quality): string =>
    centralGain > 0
      ? `${(((r.recall20 - preEval.full.recall20) / centralGain) * 100).toFixed(0)}%`
      : `n/a (Δ ${(r.recall20 - preEval.full.recall20).toFixed(4)})`;
  const updateBytes = Math.max(results.fedavg!.updateBytes, results.fedavg_dp!.updateBytes);

  const table = [
    `| model (full test split, ${data.cases.length} cases) | Recall@20 | MRR@20 | share of centralized gain | ε (δ=${s.delta}) |`,
    '|---|---|---|---|---|',
    `| pretrained (all weights, first half, ${s.pretrainEpochs} epochs) | ${preEval.full.recall20.toFixed(4)} | ${preEval.full.mrr20.toFixed(4)} | 0% | – |`,
    `| centralized (federated tensors only, second half, ${s.centralEpochs} epochs) | ${cenEval.full.recall20.toFixed(4)} | ${cenEval.full.mrr20.toFixed(4)} | ${centralGain > 0 ? '100%' : `none (Δ ${centralGain.toFixed(4)})`} | – (no DP) |`,
    `| fedavg (no noise) | ${results.fedavg!.full.recall20.toFixed(4)} | ${results.fedavg!.full.mrr20.toFixed(4)} | ${gain(results.fedavg!.full)} | ∞ |`,
    `| fedavg_dp (σ=${s.noiseMultiplier}) | ${results.fedavg_dp!.full.recall20.toFixed(4)} | ${results.fedavg_dp!.full.mrr20.toFixed(4)} | ${gain(results.fedavg_dp!.full)} | ${eps.toFixed(2)} |`,
    ...(shipped?.test?.int8
      ? [
          `| context: shipped models/diginetica (every weight, all data, 8 epochs; int8, from metadata.json) | ${shipped.test.int8.recall20.toFixed(4)} | ${shipped.test.int8.mrr20.toFixed(4)} | – | – |`,
        ]
      : []),
  ].join('\n');
  const lines = [
    `rounds ${s.rounds}, ${s.clientsPerRound} clients/round of ${n} devices (q = ${q.toPrecision(3)}), C = ${s.clipNorm}, σ = ${s.noiseMultiplier} (noise std per device ${((s.noiseMultiplier * s.clipNorm) / Math.sqrt(s.clientsPerRound)).toPrecision(3)}), ` +
      `local: ${s.localEpochs} epochs SGD lr ${s.localLr}, server lr ${s.serverLr}`,
    table,
    `update size per device per round: ${updateBytes} bytes (${(updateBytes / 1024).toFixed(1)} KB, limit 64 KB); rejected updates: fedavg ${JSON.stringify(results.fedavg!.rejected)}, fedavg_dp ${JSON.stringify(results.fedavg_dp!.rejected)}`,
    `test cases whose target first appears in the second half (not in the published vocabulary: a miss for every model but the shipped one): ${newTargets} of ${data.cases.length} (${((newTargets / data.cases.length) * 100).toFixed(1)}%)`,
    `per-round numbers in the log are on a seeded sample of ${sampleCases.length} test cases; the table is the full split. Took ${formatDuration((performance.now() - started) / 1000)}.`,
  ];
  process.stdout.write(lines.join('\n') + '\n');

  const rowsOf = (name: string): RoundRow[] => results[name]!.rows;
  const flat = (
    y: number,
    color: string,
    label: string,
  ): { label: string; color: string; dashed: boolean; points: Array<[number, number]> } => ({
    label,
    color,
    dashed: true,
    points: [
      [0, y],
      [s.rounds, y],
    ],
  });
  const svg = plotSvg(
    [
      {
        title: `Recall@20 on ${sampleCases.length} sampled test cases`,
        yLabel: 'Recall@20',
        series: [
          {
            label: 'FedAvg',
            color: '#1f77b4',
            points: [[0, preEval.sample.recall20], ...rowsOf('fedavg').map((r): [number, number] => [r.round, r.recall20])],
          },
          {
            label: `FedAvg + DP (σ=${s.noiseMultiplier})`,
            color: '#ff7f0e',
            points: [[0, preEval.sample.recall20], ...rowsOf('fedavg_dp').map((r): [number, number] => [r.round, r.recall20])],
          },
          flat(cenEval.sample.recall20, '#2ca02c', 'centralized'),
          flat(preEval.sample.recall20, '#888', 'pretrained'),
        ],
      },
      {
        title: `cumulative ε (δ = ${s.delta})`,
        yLabel: 'ε',
        series: [
          {
            label: `σ=${s.noiseMultiplier}, q=${q.toPrecision(3)}`,
            color: '#ff7f0e',
            points: rowsOf('fedavg_dp').map((r): [number, number] => [r.round, r.epsilon]),
          },
        ],
      },
    ],
    'round',
    `Federated learning on DIGINETICA: ${s.clientsPerRound} devices/round, C=${s.clipNorm}`,
  );
  mkdirSync(dirname(plotPath), { recursive: true });
  writeFileSync(plotPath, svg);
  log(`wrote ${plotPath}`);

  if (args.has('json')) {
    const json = {
      pretrained: preEval.full,
      centralized: cenEval.full,
      fedavg: results.fedavg!.full,
      fedavg_dp: { ...results.fedavg_dp!.full, epsilon: eps, delta: s.delta },
      update_bytes: updateBytes,
      rounds: s.rounds,
      clients_per_round: s.clientsPerRound,
    };
    process.stdout.write(JSON.stringify(json) + '\n');
  }
}

runCli('simulate', main);
