/**
 * `npm run simulate -- [options]`: federated learning on DIGINETICA, measured against the honest
 * ceiling, simulated in Node through the device's own trainer (`src/federated/localTrainer.ts`) and
 * the server's own row schedule and accountant (`src/server/`). The setup (time split, catalogue,
 * device partition, cases) is `simulationSetup.ts`; every knob is below with its default.
 *
 * Runs, each on the full test split and on its new-item cases:
 * - `pretrained`: every weight, first half only (the floor);
 * - `central`: every weight, item embeddings included, both halves, same settings and epochs (the
 *   ceiling: what a shop with raw logs would ship);
 * - `fedavg`: federated rounds over the second half from `pretrained`, no noise;
 * - `fedavg_dp`: the same with DP noise, one run per target ε in `--epsilons` (σ is solved from
 *   the accountant so that the last round's ε is the target).
 * Runs go in child processes, two at a time (one core each) unless `--sequential`; the two
 * references are cached in `--cache` with their evaluations.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDuration, numberArg, parseArgs, runCli, UsageError } from '../../src/node/cliArgs';
import type { TestCase } from '../data/dataset';
import { readSplit } from '../data/readSplit';
import { evaluate } from '../eval/evaluate';
import { ModelScorer } from '../eval/modelScorers';
import { SessionModel } from '../../src/model/tfjs/sessionModel';
import { progressReporter } from '../eval/progress';
import { useWasmBackend } from '../nodeBackend';
import { epsilonFor } from '../../src/server/privacyAccountant';
import type { ModelWeights } from '../../src/node/modelDir';
import { readJsonMaybe, runKey, trainCentral } from './centralBaselines';
import { growItemTable, runFederated, type RoundRow } from './federatedRun';
import { ownRowsCoverage } from './deviceRows';
import { plotSvg } from './plotSvg';
import { centralRun, DEFAULT_SIMULATION, finetuneRun, pretrainRun, type SimulationSettings } from './simulationSettings';
import { simulationSetup, type SimulationSetup } from './simulationSetup';

type NumericSetting = { [K in keyof SimulationSettings]: SimulationSettings[K] extends number ? K : never }[keyof SimulationSettings];
const OPTIONS: Array<[NumericSetting, string, number, number, string]> = [
  ['rounds', 'rounds', 1, 100000, 'federated rounds per run'],
  ['clientsPerRound', 'clients-per-round', 1, 1e6, 'devices sampled per round (K)'],
  ['sessionsPerDevice', 'sessions-per-device', 1, 1000, 'second-half sessions per simulated device'],
  ['rowsPerRound', 'rows-per-round', 0, 1e6, 'item-embedding rows the server announces per round'],
  ['rowBasis', 'row-basis', 0, 4096, "rank of a public basis for the rows' changes, refreshed from aggregates (0 = none)"],
  [
    'privateRows',
    'private-rows',
    0,
    4096,
    "rows of each device's own most frequent items, under a sparse secure aggregation not built yet (0 = off)",
  ],
  [
    'rowThreshold',
    'row-threshold',
    0,
    1000,
    'own rows under DP: apply a row only this many noise standard deviations above the noise (0 = every row)',
  ],
  ['rowAccumulate', 'row-accumulate', 0, 1, 'own rows under DP: 1 = rows under the threshold add up over rounds until they clear it'],
  ['rowDims', 'row-dims', 0, 4096, 'coordinates of each announced row a device uploads, picked per round by the server (0 = all)'],
  ['exploitShare', 'exploit-share', 0, 1, "share of a round's rows given to the most popular rows"],
  ['exploitPool', 'exploit-pool', 1, 1000, 'the exploit share rotates through this many times its size of the most popular rows'],
  ['sketchBuckets', 'sketch-buckets', 0, 1e6, 'buckets of the item sketch in each upload (0 = none)'],
  ['sketchShare', 'sketch-share', 0, 0.99, "the sketch's share of the clip norm"],
  ['clipNorm', 'clip-norm', 1e-6, 1e6, 'L2 clip norm C of a device upload'],
  [
    'rowClipShare',
    'row-clip-share',
    0,
    0.99,
    'the rows clipped on their own to this share of C, the dense values to the rest (0 = one clip)',
  ],
  ['delta', 'delta', 1e-12, 0.1, 'δ of the reported (ε, δ)'],
  ['localEpochs', 'local-epochs', 1, 1000, "local passes over a device's sessions per round"],
  ['localLr', 'local-lr', 1e-6, 100, 'local SGD learning rate'],
  ['serverLr', 'server-lr', 1e-6, 100, 'server learning rate of the dense tensors (1 = plain FedAvg)'],
  ['rowServerLr', 'row-server-lr', 1e-6, 1e6, 'server learning rate of the item rows'],
  ['rowCountOracle', 'row-count-oracle', 0, 1, 'diagnosis only: 1 = divide each row by the devices that touched it (an oracle)'],
  ['serverLrFinal', 'server-lr-final', 1e-6, 1, 'both server rates decay linearly to this fraction by the last round (sgd)'],
  ['populationScale', 'population-scale', 1, 1e6, 'replicas of each real device (> 1: a replicated population, labelled)'],
  ['evalCases', 'eval-cases', 100, 1e7, 'seeded test sample evaluated during the runs'],
  ['evalEvery', 'eval-every', 1, 1e6, 'evaluate the sample every N rounds'],
  ['pretrainEpochs', 'pretrain-epochs', 1, 100, 'epochs of both references (first half; both halves)'],
  ['finetuneEpochs', 'finetune-epochs', 1, 100, "epochs of the central fine-tune on the devices' sessions"],
  ['finetuneRows', 'finetune-rows', 0, 1e7, 'diagnosis: the fine-tune changes only the rows of this many most frequent items (0 = all)'],
  ['seed', 'seed', 0, 2 ** 31, 'random seed'],
];

const USAGE = `usage: npm run simulate -- [--data <split dir>] [--cache <dir>] [--out <dir>] [--epsilons 8,2] [--json] [--sequential]
${OPTIONS.map(([k, o, , , h]) => `  --${o.padEnd(20)} ${h} (default ${DEFAULT_SIMULATION[k]})`).join('\n')}
  --server-optimizer   sgd (FedAvg), momentum (FedAvgM, β 0.9) or adam (FedAdam) (default ${DEFAULT_SIMULATION.serverOptimizer})
  --epsilons           target ε of the fedavg_dp runs, comma-separated (default 8,2; "none" = no DP run)
  --only               run only these, comma-separated: pretrained, central, catalogue, finetune,
                       finetune_dense, fedavg, fedavg_dp, frontier (only the replicated-population runs of --frontier-scales)
  --out                where the result files go (default: the cache directory)`;

const log = (m: string): void => void process.stderr.write(m + '\n');

/** Recall@20 / MRR@20 on the full split and on its new-item cases. */
export interface Quality {
  recall20: number;
  mrr20: number;
  new_items: { recall20: number; mrr20: number };
}
/** What a child process writes: a reference or a federated run. */
interface RunResult {
  name: string;
  /** The settings the run was made with (a cached run is reused only with the same). */
  settings?: SimulationSettings;
  quality: Quality;
  /** Per-round progress (federated runs). */
  rows: RoundRow[];
  /** Recall@20 on the per-round sample at round 0 (the start). */
  sampleStart: number;
  noiseMultiplier: number;
  epsilon: number;
  updateBytes: number;
  downloadBytes: number;
  seconds: number;
}

type ModelEval = (w: ModelWeights, cases: readonly TestCase[], label?: string) => Promise<{ recall20: number; mrr20: number }>;

/**
 * Evaluates a model whose vocabulary is the first `modelItems` items of the data's: prefixes lose
 * the items the model does not know and those items score -Infinity, exactly as the shipped SDK
 * treats products missing from its vocab.txt.
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

async function quality(ev: ModelEval, w: ModelWeights, setup: SimulationSetup, label: string): Promise<Quality> {
  const full = await ev(w, setup.cases, `${label}: full split`);
  const fresh = await ev(w, setup.newItemCases, `${label}: new-item cases`);
  return { ...full, new_items: fresh };
}

/** σ whose ε after `rounds` rounds at sampling rate q is `target` (bisection on the accountant). */
export function sigmaForEpsilon(target: number, q: number, rounds: number, delta: number): number {
  let lo = 0.05;
  let hi = 200;
  const eps = (sigma: number): number => epsilonFor({ noiseMultiplier: sigma, samplingRate: q, rounds, delta }).epsilon;
  if (eps(hi) > target) throw new UsageError(`ε ${target} is out of reach with ${rounds} rounds at q = ${q}`);
  for (let i = 0; i < 50; i++) {
    const mid = Math.sqrt(lo * hi);
    if (eps(mid) > target) lo = mid;
    else hi = mid;
  }
  return hi;
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    log(USAGE);
    return;
  }
  const args = parseArgs(
    argv,
    [
      'data',
      'cache',
      'out',
      'epsilons',
      'only',
      'child',
      'child-sigma',
      'server-optimizer',
      'frontier-scales',
      ...OPTIONS.map((o) => o[1]),
    ],
    ['json', 'sequential', 'reuse'],
  );
  const s: SimulationSettings = { ...DEFAULT_SIMULATION };
  for (const [key, opt, min, max] of OPTIONS) s[key] = numberArg(args, opt, s[key], min, max);
  const kind = args.get('server-optimizer') ?? s.serverOptimizer;
  if (kind !== 'sgd' && kind !== 'momentum' && kind !== 'adam')
    throw new UsageError(`--server-optimizer must be sgd, momentum or adam, not "${kind}"`);
  s.serverOptimizer = kind;
  if (kind === 'adam' && s.serverLrFinal < 1) throw new UsageError('--server-lr-final applies to --server-optimizer sgd or momentum');
  const dataDir = args.get('data') ?? '../shared/data/diginetica';
  const cache = args.get('cache') ?? 'runs/simulate';
  const outDir = args.get('out') ?? cache;
  const epsilons = (args.get('epsilons') ?? '8,2') === 'none' ? [] : (args.get('epsilons') ?? '8,2').split(',').map(Number);
  if (epsilons.some((e) => !(e > 0))) throw new UsageError('--epsilons must be positive numbers, e.g. 8,2');
  const only = args.get('only')?.split(',');
  const child = args.get('child');
  const started = performance.now();

  const data = readSplit(dataDir);
  const backend = await useWasmBackend();
  const setup = simulationSetup(data, s);
  mkdirSync(cache, { recursive: true });
  const pre = pretrainRun(s);
  const preKey = runKey('pretrained', pre, setup.first.length, setup.firstItems);
  const cen = centralRun(s);
  const cenKey = runKey('central', cen, setup.all.length, setup.numItems);
  // A replicated population (populationScale P) has P × the devices and P × the cohort: same q.
  const q = s.clientsPerRound / setup.devices.length;

  if (child) {
    const t0 = performance.now();
    const out = join(cache, `${child}.json`);
    const write = (r: Omit<RunResult, 'seconds'>): void =>
      writeFileSync(out, JSON.stringify({ ...r, settings: s, seconds: (performance.now() - t0) / 1000 }) + '\n');
    if (child === 'pretrained' || child === 'central') {
      const isPre = child === 'pretrained';
      const key = isPre ? preKey : cenKey;
      const items = isPre ? setup.firstItems : setup.numItems;
      const w = await trainCentral(
        cache,
        key,
        isPre ? pre : cen,
        isPre ? setup.first : setup.all,
        items,
        data.vocab.slice(0, items),
        null,
        log,
      );
      const cached = readJsonMaybe<RunResult>(join(cache, key, 'result.json'));
      const ev = modelEval(data.vocab, items);
      const r: RunResult = cached ?? {
        name: child,
        quality: await quality(ev, w, setup, child),
        rows: [],
        sampleStart: (await ev(w, setup.sampleCases)).recall20,
        noiseMultiplier: 0,
        epsilon: 0,
        updateBytes: 0,
        downloadBytes: 0,
        seconds: 0,
      };
      writeFileSync(join(cache, key, 'result.json'), JSON.stringify(r) + '\n');
      write(r);
      return;
    }
    const sigma = Number(args.get('child-sigma') ?? '0');
    const pretrained = await trainCentral(
      cache,
      preKey,
      pre,
      setup.first,
      setup.firstItems,
      data.vocab.slice(0, setup.firstItems),
      null,
      log,
    );
    const start = growItemTable(pretrained, setup.numItems, s.seed + 11);
    const ev = modelEval(data.vocab, setup.numItems);
    if (child === 'finetune' || child === 'finetune_dense') {
      const fine = finetuneRun(s, preKey, child === 'finetune_dense');
      const key = runKey(child, fine, setup.devices.length, setup.numItems);
      const w = await trainCentral(cache, key, fine, setup.devices.flat(), setup.numItems, data.vocab.slice(0, setup.numItems), start, log);
      write({
        name: child,
        quality: await quality(ev, w, setup, child),
        rows: [],
        sampleStart: (await ev(w, setup.sampleCases)).recall20,
        noiseMultiplier: 0,
        epsilon: 0,
        updateBytes: 0,
        downloadBytes: 0,
      });
      return;
    }
    if (child === 'catalogue') {
      // The pretrained model with the new items' neutral rows and no training at all: what the
      // catalogue alone gives (the repeat path can re-rank an item the shopper just viewed once
      // the model knows the item exists). Federated learning's own gain is measured above it too.
      write({
        name: child,
        quality: await quality(ev, start, setup, child),
        rows: [],
        sampleStart: (await ev(start, setup.sampleCases)).recall20,
        noiseMultiplier: 0,
        epsilon: 0,
        updateBytes: 0,
        downloadBytes: 0,
      });
      return;
    }
    const r = await runFederated({
      name: child,
      settings: s,
      noiseMultiplier: sigma,
      start,
      firstItems: setup.firstItems,
      devices: setup.devices,
      evaluate: (w) => ev(w, setup.sampleCases),
      log,
    });
    log(`[${child}] evaluating the final model on the full split (${setup.cases.length} cases) and its new-item cases…`);
    write({
      name: child,
      quality: await quality(ev, r.weights, setup, child),
      rows: r.rows,
      sampleStart: (await ev(start, setup.sampleCases)).recall20,
      noiseMultiplier: sigma,
      epsilon: sigma > 0 ? epsilonFor({ noiseMultiplier: sigma, samplingRate: q, rounds: s.rounds, delta: s.delta }).epsilon : Infinity,
      updateBytes: r.updateBytes,
      downloadBytes: r.downloadBytes,
    });
    return;
  }

  const sigmas = epsilons.map((e) => sigmaForEpsilon(e, q, s.rounds, s.delta));
  log(
    `backend ${backend}; ${data.train.length} training sessions: ${setup.first.length} first half (${setup.firstItems} items), ` +
      `${setup.devices.length} devices of ${s.sessionsPerDevice} second-half sessions; catalogue ${setup.numItems} items (${setup.numItems - setup.firstItems} new); ` +
      `${setup.cases.length} test cases, ${setup.newItemCases.length} of them new-item cases; per-round sample ${setup.sampleCases.length}; ` +
      `rounds ${s.rounds} × ${s.clientsPerRound} devices (q = ${q.toPrecision(3)}), ${s.rowsPerRound} rows/round${s.rowDims > 0 ? ` (${s.rowDims} coordinates each)` : ''}${s.rowBasis > 0 ? ` (rank-${s.rowBasis} basis)` : ''}${s.privateRows > 0 ? `, ${s.privateRows} own rows per device` : ''}, C = ${s.clipNorm}${s.rowClipShare > 0 ? ` (rows clipped to ${s.rowClipShare} of it on their own)` : ''}, ` +
      `local ${s.localEpochs} × SGD lr ${s.localLr}, server lr ${s.serverLr}; DP runs: ${epsilons.map((e, i) => `ε ${e} → σ ${sigmas[i]!.toFixed(3)}`).join(', ') || 'none'}`,
  );
  if (s.privateRows > 0 && !child) {
    const c = ownRowsCoverage(setup.devices, s.privateRows);
    log(
      `own rows: a device holds ${c.meanDistinct.toFixed(1)} distinct items on average (99th percentile ${c.p99Distinct}, most ${c.maxDistinct}); ` +
        `${s.privateRows} rows keep ${(c.keptShare * 100).toFixed(1)} % of their events`,
    );
  }
  const me = fileURLToPath(import.meta.url);
  const results: Record<string, RunResult> = {};
  const own = ['--only', '--epsilons', '--frontier-scales'];
  const passThrough = argv.filter(
    (a, i) => !['--json', '--sequential', '--reuse'].includes(a) && !own.includes(argv[i - 1] ?? '') && !own.includes(a),
  );
  const runChild = (name: string, extra: string[] = []): Promise<void> =>
    new Promise((resolve, reject) => {
      if (args.has('reuse')) {
        // A run made earlier with exactly these settings (and σ, population) is read, not redone.
        const prev = readJsonMaybe<RunResult>(join(cache, `${name}.json`));
        const want = {
          ...s,
          ...(extra.includes('--population-scale') ? { populationScale: Number(extra[extra.indexOf('--population-scale') + 1]) } : {}),
        };
        const sigma = extra.includes('--child-sigma') ? Number(extra[extra.indexOf('--child-sigma') + 1]) : 0;
        if (
          prev &&
          JSON.stringify(prev.settings) === JSON.stringify(want) &&
          (prev.rows.length === 0 || Math.abs(prev.noiseMultiplier - sigma) < 1e-9)
        ) {
          log(`${name}: reusing ${join(cache, `${name}.json`)} (same settings)`);
          results[name] = prev;
          return resolve();
        }
      }
      const p = spawn(process.execPath, [...process.execArgv, me, ...passThrough, '--child', name, ...extra], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      p.on('error', reject);
      p.on('exit', (code) => {
        if (code !== 0) return reject(new Error(`the ${name} run exited with code ${code}`));
        results[name] = JSON.parse(readFileSync(join(cache, `${name}.json`), 'utf8')) as RunResult;
        resolve();
      });
    });
  const want = (name: string): boolean => !only || only.includes(name);
  const jobs: Array<[string, string[]]> = [];
  if (want('pretrained')) jobs.push(['pretrained', []]);
  if (want('central')) jobs.push(['central', []]);
  if (want('catalogue')) jobs.push(['catalogue', []]);
  if (want('finetune')) jobs.push(['finetune', []]);
  if (want('finetune_dense')) jobs.push(['finetune_dense', []]);
  if (want('fedavg')) jobs.push(['fedavg', []]);
  if (want('fedavg_dp')) sigmas.forEach((sigma, i) => jobs.push([`fedavg_dp-eps${epsilons[i]}`, ['--child-sigma', String(sigma)]]));
  // The frontier: the first target ε on replicated populations (P × the real devices, P × the cohort).
  const scales = (args.get('frontier-scales') ?? '').split(',').filter(Boolean).map(Number);
  if (scales.some((x) => !(Number.isInteger(x) && x > 1))) throw new UsageError('--frontier-scales must be integers > 1, e.g. 10,100');
  if ((want('fedavg_dp') || want('frontier')) && sigmas.length > 0)
    for (const scale of scales)
      jobs.push([`fedavg_dp-eps${epsilons[0]}-pop${scale}`, ['--child-sigma', String(sigmas[0]), '--population-scale', String(scale)]]);
  // The references first (the federated runs start from the pretrained model), then two at a time.
  const isRef = (n: string): boolean => n === 'pretrained' || n === 'central' || n === 'catalogue';
  const refs = jobs.filter(([n]) => isRef(n));
  const fed = jobs.filter(([n]) => !isRef(n));
  const parallel = args.has('sequential') ? 1 : 2;
  const pool = async (list: Array<[string, string[]]>): Promise<void> => {
    const queue = [...list];
    await Promise.all(
      Array.from({ length: Math.min(parallel, queue.length) }, async () => {
        for (let j = queue.shift(); j; j = queue.shift()) await runChild(j[0], j[1]);
      }),
    );
  };
  await pool(refs);
  if (fed.length > 0 && !results.pretrained) await runChild('pretrained');
  await pool(fed);
  report(results, s, setup, epsilons, scales, outDir, args.has('json'), (performance.now() - started) / 1000);
}

function report(
  results: Record<string, RunResult>,
  s: SimulationSettings,
  setup: SimulationSetup,
  epsilons: number[],
  scales: number[],
  outDir: string,
  json: boolean,
  seconds: number,
): void {
  const pre = results.pretrained;
  const cen = results.central;
  const recovery = (r: RunResult): string =>
    pre && cen && cen.quality.recall20 > pre.quality.recall20
      ? `${(((r.quality.recall20 - pre.quality.recall20) / (cen.quality.recall20 - pre.quality.recall20)) * 100).toFixed(1)}%`
      : '–';
  const ofCentralNew = (r: RunResult): string =>
    cen && cen.quality.new_items.recall20 > 0
      ? `${((r.quality.new_items.recall20 / cen.quality.new_items.recall20) * 100).toFixed(1)}%`
      : '–';
  const f4 = (x: number): string => x.toFixed(4);
  // Recall@20 on the cases whose target the pretrained model knew (the full split minus the new-item cases).
  const nAll = setup.cases.length;
  const nNew = setup.newItemCases.length;
  const otherCases = (r: RunResult): number => (r.quality.recall20 * nAll - r.quality.new_items.recall20 * nNew) / (nAll - nNew);
  const dp = [
    ...epsilons.map((e) => results[`fedavg_dp-eps${e}`]),
    ...scales.map((p) => results[`fedavg_dp-eps${epsilons[0]}-pop${p}`]),
  ].filter((r): r is RunResult => !!r);
  const ordered = [pre, cen, results.catalogue, results.finetune, results.finetune_dense, results.fedavg, ...dp].filter(
    (r): r is RunResult => !!r,
  );
  const table = [
    `| run | Recall@20 | MRR@20 | new-item R@20 | new-item MRR@20 | other cases R@20 | recovery | new-item R@20 / central's | ε (δ=${s.delta}) | σ | upload B/device/round | download B/device/round | wall time |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...ordered.map(
      (r) =>
        `| ${r.name} | ${f4(r.quality.recall20)} | ${f4(r.quality.mrr20)} | ${f4(r.quality.new_items.recall20)} | ${f4(r.quality.new_items.mrr20)} | ${f4(otherCases(r))} | ${r === pre ? '0%' : r === cen ? '100%' : recovery(r)} | ${ofCentralNew(r)} | ` +
        `${r.rows.length === 0 ? '–' : Number.isFinite(r.epsilon) ? r.epsilon.toFixed(2) : '∞'} | ${r.rows.length === 0 ? '–' : r.noiseMultiplier.toFixed(3)} | ${r.updateBytes || '–'} | ${r.downloadBytes || '–'} | ${formatDuration(r.seconds)} |`,
    ),
  ].join('\n');
  const lines = [
    `full test split ${setup.cases.length} cases, new-item cases ${setup.newItemCases.length} (${((setup.newItemCases.length / setup.cases.length) * 100).toFixed(1)}%); ` +
      `federated: ${s.rounds} rounds × ${s.clientsPerRound} of ${setup.devices.length} devices, ${s.rowsPerRound} rows/round; recovery = (run − pretrained) / (central − pretrained), Recall@20`,
    table,
    `took ${formatDuration(seconds)} (references from the cache when they were there)`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  mkdirSync(outDir, { recursive: true });
  const fedRuns = [results.fedavg, ...dp].filter((r): r is RunResult => !!r);
  if (fedRuns.length > 0) {
    const colors = ['#1f77b4', '#ff7f0e', '#d62728', '#9467bd'];
    const flat = (y: number, color: string, label: string) => ({
      label,
      color,
      dashed: true,
      points: [
        [0, y],
        [s.rounds, y],
      ] as Array<[number, number]>,
    });
    const svg = plotSvg(
      [
        {
          title: `Recall@20 on ${setup.sampleCases.length} sampled test cases`,
          yLabel: 'Recall@20',
          series: [
            ...fedRuns.map((r, i) => ({
              label: r.name,
              color: colors[i % colors.length]!,
              points: [[0, r.sampleStart] as [number, number], ...r.rows.map((x): [number, number] => [x.round, x.recall20])],
            })),
            ...(cen && cen.sampleStart ? [flat(cen.sampleStart, '#2ca02c', 'central')] : []),
            ...(pre ? [flat(pre.sampleStart, '#888', 'pretrained')] : []),
          ],
        },
        {
          title: `cumulative ε (δ = ${s.delta})`,
          yLabel: 'ε',
          series: dp.map((r, i) => ({
            label: `${r.name} (σ ${r.noiseMultiplier.toFixed(2)})`,
            color: colors[(i + 1) % colors.length]!,
            points: r.rows.map((x): [number, number] => [x.round, x.epsilon]),
          })),
        },
      ],
      'round',
      `Federated learning on DIGINETICA: ${s.clientsPerRound} devices/round, ${s.rowsPerRound} rows/round, C=${s.clipNorm}`,
    );
    const plotPath = join(outDir, 'simulation.svg');
    mkdirSync(dirname(plotPath), { recursive: true });
    writeFileSync(plotPath, svg);
    log(`wrote ${plotPath}`);
  }
  if (json) {
    const entry = (r: RunResult | undefined) =>
      r && {
        recall20: r.quality.recall20,
        mrr20: r.quality.mrr20,
        new_items: r.quality.new_items,
        ...(r.rows.length > 0 ? { rounds: r.rows.length, seconds: r.seconds } : {}),
        ...(r.noiseMultiplier > 0 ? { epsilon: r.epsilon, delta: s.delta, noise_multiplier: r.noiseMultiplier } : {}),
        ...(r.settings && r.settings.populationScale > 1
          ? {
              replicated_population: r.settings.populationScale * setup.devices.length,
              cohort: r.settings.populationScale * s.clientsPerRound,
            }
          : {}),
      };
    const out = {
      pretrained: entry(pre),
      central: entry(cen),
      catalogue_only: entry(results.catalogue),
      central_finetune: entry(results.finetune),
      central_finetune_dense: entry(results.finetune_dense),
      fedavg: entry(results.fedavg),
      fedavg_dp: dp.map(entry),
      update_bytes: Math.max(0, ...fedRuns.map((r) => r.updateBytes)),
      download_bytes: Math.max(0, ...fedRuns.map((r) => r.downloadBytes)),
      rounds: s.rounds,
      clients_per_round: s.clientsPerRound,
      rows_per_round: s.rowsPerRound,
      devices: setup.devices.length,
    };
    process.stdout.write(JSON.stringify(out) + '\n');
  }
}

runCli('simulate', main, ['UsageError']);
