/**
 * `npm run repeat-offset -- --valid-run <dir> --data <split dir> [--apply-to <model dir>]`:
 * calibrates the repeat path of a model trained with a sampled softmax.
 *
 * Why: training compares the repeat logits β with a *sampled* estimate of the item scores'
 * partition, which on most batches misses rare high-scoring items and so reads low; the repeat
 * path learns β a little too small for the full softmax the model ranks with. One offset o added
 * to every β (`repeat/recency` += o) corrects it. It is chosen on held-out validation cases of
 * `--valid-run` (a run with `--holdout > 0` and otherwise the same settings), never on the test
 * set: the offset with the highest Recall@20 + MRR@20 on a fixed grid (ties: the smaller |o|).
 * `--apply-to` then writes the shifted model (int8 and float) into that model directory, e.g. the
 * same settings trained on every session, and records the calibration in its metadata.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseArgs, runCli, UsageError } from '../../src/node/cliArgs';
import { readSplit } from '../data/readSplit';
import { evaluate } from '../eval/evaluate';
import { ModelScorer } from '../eval/modelScorers';
import { useWasmBackend } from '../nodeBackend';
import { SessionModel } from '../../src/model/tfjs/sessionModel';
import { splitHoldout } from './holdout';
import { readModelDir, writeMetadata, writeModelDir } from '../../src/node/modelDir';
import { chooseOffset, OFFSET_GRID, withRepeatOffset, type OffsetResult } from './repeatCalibration';
import type { TrainSettings } from './trainSettings';

function log(msg: string): void {
  process.stderr.write(msg + '\n');
}

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv, ['valid-run', 'data', 'apply-to']);
  const validRun = args.get('valid-run');
  const dataDir = args.get('data');
  if (!validRun || !dataDir)
    throw new UsageError(
      'usage: npm run repeat-offset -- --valid-run <dir trained with --holdout> --data <split dir> [--apply-to <model dir>]',
    );
  const meta = JSON.parse(readFileSync(join(validRun, 'metadata.json'), 'utf8')) as { settings: TrainSettings };
  if (!(meta.settings.holdout > 0)) throw new UsageError(`${validRun} was trained without --holdout: it has no validation cases`);
  const data = readSplit(dataDir);
  await useWasmBackend();
  const { valid } = splitHoldout(data.train, meta.settings);
  const { weights, vocab } = readModelDir(join(validRun, 'float'));
  log(`calibrating the repeat offset of ${validRun} on ${valid.length} validation cases (holdout ${meta.settings.holdout})`);
  const results: OffsetResult[] = [];
  for (const offset of OFFSET_GRID) {
    const model = new SessionModel(weights.config, weights.items, withRepeatOffset(weights, offset).dense);
    const r = await evaluate(new ModelScorer('valid', model, vocab, data.vocab), valid, data.vocab.length);
    model.dispose();
    results.push({ offset, recall20: r.recall20, mrr20: r.mrr20 });
    log(`offset ${String(offset).padStart(4)}: Recall@20 ${r.recall20.toFixed(4)} MRR@20 ${r.mrr20.toFixed(4)}`);
  }
  const best = chooseOffset(results);
  log(`chosen offset ${best.offset} (Recall@20 ${best.recall20.toFixed(4)}, MRR@20 ${best.mrr20.toFixed(4)})`);
  const target = args.get('apply-to');
  if (target) {
    const float = readModelDir(join(target, 'float'));
    const shifted = withRepeatOffset(float.weights, best.offset);
    const modelVersion = `${float.manifest.modelVersion}-o${best.offset}`;
    const calibration = { offset: best.offset, chosenOn: `${validRun} (validation, ${valid.length} cases)`, grid: results };
    const metadata = { ...(float.manifest.metadata ?? {}), repeatOffset: calibration };
    const intSizes = writeModelDir(target, shifted, float.vocab, { int8: true, modelVersion, metadata });
    const floatSizes = writeModelDir(join(target, 'float'), shifted, float.vocab, {
      int8: false,
      modelVersion,
      metadata,
      vocabPath: join(target, 'vocab.txt'),
    });
    writeMetadata(target, { modelVersion, repeatOffset: calibration, sizes: { int8: intSizes, float: floatSizes } });
    log(`wrote ${target} with offset ${best.offset} (model version ${modelVersion})`);
  }
  process.stdout.write(JSON.stringify({ offset: best.offset, grid: results }) + '\n');
}

runCli('repeat-offset', main);
