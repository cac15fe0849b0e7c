/**
 * `npm run breakdown -- --model <dir> --data <split dir> [--holdout 0.05] [--cases 10000] [--seed 42]`:
 * Recall@20 / MRR@20 of a model and of V-SKNN on validation cases (the held-out tail of the
 * training sessions, exactly as `npm run train -- --holdout` samples them; never the test set),
 * split by the kind of target: the last item again, an earlier item of the session, an item not
 * in the session. This is the diagnosis behind the repeat path (models/README.md).
 */
import { numberArg, parseArgs, runCli, UsageError } from '../../src/node/cliArgs';
import type { TestCase } from '../data/dataset';
import { readSplit } from '../data/readSplit';
import { useWasmBackend } from '../nodeBackend';
import { SessionModel } from '../../src/model/tfjs/sessionModel';
import { splitHoldout } from '../train/holdout';
import { readModelDir } from '../../src/node/modelDir';
import { createBaseline } from './baselines';
import { evaluate } from './evaluate';
import { ModelScorer } from './modelScorers';
import type { SessionScorer } from './scorer';

/** The kind of a case's target relative to its prefix. */
type TargetKind = 'last item again' | 'earlier session item' | 'new item';

function targetKind(c: TestCase): TargetKind {
  const p = c.prefix;
  if (p[p.length - 1] === c.target) return 'last item again';
  return p.includes(c.target) ? 'earlier session item' : 'new item';
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv, ['model', 'data', 'holdout', 'cases', 'seed']);
  const modelDir = args.get('model');
  const dataDir = args.get('data');
  if (!modelDir || !dataDir)
    throw new UsageError('usage: npm run breakdown -- --model <dir> --data <split dir> [--holdout 0.05] [--cases 10000] [--seed 42]');
  const holdout = numberArg(args, 'holdout', 0.05, 0.001, 0.5);
  const data = readSplit(dataDir);
  await useWasmBackend();
  const { train, valid } = splitHoldout(data.train, {
    holdout,
    validCases: numberArg(args, 'cases', 10000, 0, 1e7),
    seed: numberArg(args, 'seed', 42, 0, 2 ** 31),
  });
  const { weights, vocab } = readModelDir(modelDir);
  const scorers: SessionScorer[] = [
    new ModelScorer('model', new SessionModel(weights.config, weights.items, weights.dense), vocab, data.vocab),
    createBaseline('vsknn', train, data.vocab.length),
  ];
  const groups = new Map<TargetKind | 'all', TestCase[]>([['all', valid]]);
  for (const c of valid) {
    const k = targetKind(c);
    const list = groups.get(k);
    if (list) list.push(c);
    else groups.set(k, [c]);
  }
  process.stdout.write(
    `validation: the last ${holdout} of the training sessions, ${valid.length} cases (V-SKNN fit on the rest; evaluate a model trained with the same --holdout)\n`,
  );
  process.stdout.write(`${'target'.padEnd(22)} ${'share'.padStart(6)}  ${'model R@20 / MRR@20'.padEnd(20)}  V-SKNN R@20 / MRR@20\n`);
  for (const [kind, cases] of groups) {
    const cells: string[] = [];
    for (const s of scorers) {
      const r = await evaluate(s, cases, data.vocab.length);
      cells.push(`${r.recall20.toFixed(4)} / ${r.mrr20.toFixed(4)}`);
    }
    process.stdout.write(
      `${kind.padEnd(22)} ${((100 * cases.length) / valid.length).toFixed(1).padStart(5)}%  ${cells[0]!.padEnd(20)}  ${cells[1]}\n`,
    );
  }
}

runCli('breakdown', main);
