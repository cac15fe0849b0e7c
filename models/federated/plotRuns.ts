/**
 * Plots federated runs that `npm run simulate` made in separate commands on one figure: the
 * sampled Recall@20 and the cumulative ε against rounds, read from the runs' cache files
 * (`<cache>/<run name>.json`). For comparisons that one simulate command cannot make (runs with
 * different settings).
 *
 *   npx tsx models/federated/plotRuns.ts --out runs/frontier.svg --title "…" \
 *     --runs "10× no gate=runs/c-base10/fedavg_dp-eps8-pop10.json,10× gate=runs/c-thr10/fedavg_dp-eps8-pop10.json"
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs, runCli, UsageError } from '../../src/node/cliArgs';
import { plotSvg, type Series } from './plotSvg';

interface SavedRun {
  name: string;
  sampleStart: number;
  rows: Array<{ round: number; recall20: number; epsilon: number }>;
}

const COLORS = ['#1f77b4', '#ff7f0e', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv, ['out', 'title', 'runs']);
  const out = args.get('out');
  const spec = args.get('runs');
  if (!out || !spec) throw new UsageError('usage: plotRuns.ts --out <file.svg> --runs "label=run.json,label=run.json" [--title T]');
  const runs = spec.split(',').map((part) => {
    const at = part.indexOf('=');
    if (at <= 0) throw new UsageError(`--runs: "${part}" is not label=path`);
    const path = part.slice(at + 1);
    let run: SavedRun;
    try {
      run = JSON.parse(readFileSync(path, 'utf8')) as SavedRun;
    } catch (err) {
      throw new UsageError(`--runs: cannot read ${path}: ${(err as Error).message}`);
    }
    if (!Array.isArray(run.rows) || run.rows.length === 0) throw new UsageError(`--runs: ${path} holds no federated rounds`);
    return { label: part.slice(0, at), run };
  });
  const quality: Series[] = runs.map(({ label, run }, i) => ({
    label,
    color: COLORS[i % COLORS.length]!,
    points: [
      [0, run.sampleStart] as [number, number],
      ...run.rows.filter((r) => Number.isFinite(r.recall20)).map((r): [number, number] => [r.round, r.recall20]),
    ],
  }));
  // A run keeps its colour in both panels; noise-free runs (ε = ∞) have no ε curve.
  const epsilon: Series[] = runs.flatMap(({ label, run }, i) =>
    run.rows.some((r) => Number.isFinite(r.epsilon))
      ? [{ label, color: COLORS[i % COLORS.length]!, points: run.rows.map((r): [number, number] => [r.round, r.epsilon]) }]
      : [],
  );
  const svg = plotSvg(
    [
      { title: 'Recall@20 on the sampled test cases', yLabel: 'Recall@20', series: quality },
      ...(epsilon.length > 0 ? [{ title: 'cumulative ε', yLabel: 'ε', series: epsilon }] : []),
    ],
    'round',
    args.get('title') ?? 'Federated runs',
  );
  writeFileSync(out, svg);
  process.stderr.write(`wrote ${out} (${runs.length} runs)\n`);
}

runCli('plotRuns', main, ['UsageError']);
