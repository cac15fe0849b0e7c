/**
 * `npm run train -- --data <dir> --out <dir> [options]`: trains the GRU session model on a
 * split-format directory and writes the shipped int8 model to `<out>` and the float model it was
 * quantised from to `<out>/float`. Progress goes to stderr; `--resume` continues from
 * `<out>/checkpoint` after an interruption (or, with a larger `--epochs`, after the end).
 */
import { join, relative, resolve } from 'node:path';
import { formatDuration, numberArg, parseArgs, runCli, UsageError } from '../../src/node/cliArgs';
import { skippedCount } from '../data/dataset';
import { readSplit } from '../data/readSplit';
import { evaluate } from '../eval/evaluate';
import { scorerFromWeights } from '../eval/modelScorers';
import { useWasmBackend } from '../nodeBackend';
import { checkpointSettings, hasCheckpoint, loadCheckpoint, saveCheckpoint, type TrainProgress } from './checkpoint';
import { splitHoldout } from './holdout';
import { writeMetadata, writeModelDir } from '../../src/node/modelDir';
import { planEpoch } from './planEpoch';
import { buildBatch, windowSessions } from '../../src/model/tfjs/sessionLoss';
import { SessionTrainer } from './sessionTrainer';
import { isSnapshotBatch } from './weightAverage';
import { DEFAULT_SETTINGS, MAX_STEP_SCORES, stepScoreEntries, type TrainSettings } from './trainSettings';

const OPTIONS: Array<[keyof TrainSettings, string, number, number, string]> = [
  ['embedDim', 'embed-dim', 2, 1024, 'item-embedding size'],
  ['hiddenDim', 'hidden-dim', 2, 2048, 'GRU hidden size'],
  ['attnDim', 'attn-dim', 0, 1024, 'attention size (0 = no attention read-out)'],
  ['scale', 'scale', 0.1, 100, 'cosine-score temperature'],
  ['maxLen', 'max-len', 2, 200, 'longest session window'],
  ['batchSize', 'batch-size', 1, 4096, 'sessions per mini-batch'],
  ['negatives', 'negatives', 0, 10_000_000, 'shared negative samples per batch (≥ the item count: full softmax)'],
  ['sampleAlpha', 'sample-alpha', 0, 1, 'negatives ~ popularity^alpha'],
  ['lr', 'lr', 1e-6, 1, 'Adam learning rate'],
  ['lrFinal', 'lr-final', 0, 1, 'final learning rate as a fraction of --lr'],
  ['epochs', 'epochs', 1, 1000, 'passes over the training sessions'],
  ['holdout', 'holdout', 0, 0.5, 'chronological tail of training held out for validation'],
  ['validCases', 'valid-cases', 0, 1e7, 'validation cases sampled from the held-out tail (0 = all)'],
  ['seed', 'seed', 0, 2 ** 31, 'random seed'],
  ['dropout', 'dropout', 0, 0.9, 'training-only dropout on input embeddings and session vectors'],
  ['repeat', 'repeat', 0, 2, 'repeat path: 0 none, 1 mixed with the item scores, 2 exclusive (repeat/explore)'],
  [
    'averageEpochs',
    'average-epochs',
    0,
    1000,
    'ship the mean of the weights over the last N epochs (4 snapshots each; 0 = the last weights)',
  ],
];

const USAGE = `usage: npm run train -- --data <split dir> --out <model dir> [--resume] [--checkpoint-minutes N]
${OPTIONS.map(([k, o, , , h]) => `  --${o.padEnd(14)} ${h} (default ${DEFAULT_SETTINGS[k]})`).join('\n')}`;

function log(msg: string): void {
  process.stderr.write(msg + '\n');
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help')) {
    log(USAGE);
    return;
  }
  const args = parseArgs(argv, ['data', 'out', 'checkpoint-minutes', ...OPTIONS.map((o) => o[1])], ['resume']);
  const dataDir = args.get('data');
  const outDir = args.get('out');
  if (!dataDir || !outDir) throw new UsageError(`--data and --out are required\n${USAGE}`);
  const checkpointDir = join(outDir, 'checkpoint');
  const resume = args.has('resume');
  if (resume && !hasCheckpoint(checkpointDir)) throw new UsageError(`--resume: no checkpoint in ${checkpointDir}`);
  const settings: TrainSettings = resume ? checkpointSettings(checkpointDir) : { ...DEFAULT_SETTINGS };
  for (const [key, opt, min, max] of OPTIONS) {
    if (resume && args.has(opt) && key !== 'epochs') throw new UsageError(`--${opt} cannot change on --resume (only --epochs can)`);
    settings[key] = numberArg(args, opt, settings[key], min, max);
  }
  if (!Number.isInteger(settings.repeat))
    throw new UsageError(`--repeat must be 0 (none), 1 (mixture) or 2 (exclusive), got ${settings.repeat}`);
  if (!Number.isInteger(settings.averageEpochs) || settings.averageEpochs > settings.epochs) {
    throw new UsageError(
      `--average-epochs must be a whole number of epochs ≤ --epochs (${settings.epochs}), got ${settings.averageEpochs}`,
    );
  }
  if (resume && settings.averageEpochs > 0 && args.has('epochs') && settings.epochs !== checkpointSettings(checkpointDir).epochs) {
    throw new UsageError('--epochs cannot change on --resume of a run that averages its last epochs (--average-epochs > 0)');
  }
  const checkpointMinutes = numberArg(args, 'checkpoint-minutes', 5, 0.1, 1e6);

  const data = readSplit(dataDir);
  for (const r of data.reports) log(`read ${r.source}: ${r.rows} rows, ${skippedCount(r)} skipped ${JSON.stringify(r.skipped)}`);
  log(`backend: ${await useWasmBackend()}`);
  const numItems = data.vocab.length;
  const { train, valid } = splitHoldout(data.train, settings);
  log(`data: ${numItems} items, ${train.length} training sessions, ${valid.length} validation cases (holdout ${settings.holdout})`);

  const entries = stepScoreEntries(settings, numItems);
  if (entries > MAX_STEP_SCORES) {
    throw new UsageError(
      `--batch-size ${settings.batchSize} × --max-len ${settings.maxLen} with ${settings.negatives >= numItems ? 'the full softmax' : `--negatives ${settings.negatives}`} over ${numItems} items makes a step's score matrix of ${(entries / 1e6).toFixed(0)} M entries, over the ${MAX_STEP_SCORES / 1e6} M the wasm heap holds: lower --batch-size or --negatives`,
    );
  }
  const counts = new Float64Array(numItems);
  for (const s of train) for (const i of s) counts[i]! += 1;
  const trainer = new SessionTrainer(settings, numItems, counts);
  let progress: TrainProgress = {
    epoch: 0,
    batch: 0,
    epochRngState: trainer.rng.state,
    rngState: trainer.rng.state,
    globalStep: 0,
    seconds: 0,
    history: [],
  };
  if (resume) {
    progress = await loadCheckpoint(checkpointDir, trainer);
    log(`resumed: epoch ${progress.epoch + 1}, batch ${progress.batch}, ${formatDuration(progress.seconds)} trained so far`);
  }

  const windows = windowSessions(train, settings.maxLen);
  const perEpoch = Math.ceil(windows.length / settings.batchSize);
  const totalSteps = perEpoch * settings.epochs;
  log(
    `training: ${windows.length} session windows, ${perEpoch} batches/epoch, ${settings.epochs} epochs, settings ${JSON.stringify(settings)}`,
  );

  let sessionStart = performance.now();
  const elapsed = (): number => progress.seconds + (performance.now() - sessionStart) / 1000;
  let lastLog = performance.now();
  let lastSave = performance.now();
  let lossAvg = NaN;
  let examplesSinceLog = 0;

  for (let epoch = progress.epoch; epoch < settings.epochs; epoch++) {
    if (progress.batch === 0) progress.epochRngState = trainer.rng.state;
    const rngNow = trainer.rng.state;
    trainer.rng.state = progress.epochRngState;
    const plan = planEpoch(windows, settings.batchSize, trainer.rng);
    if (progress.batch > 0) trainer.rng.state = rngNow; // resumed mid-epoch: continue the sample stream
    let epochLoss = 0;
    let epochBatches = 0;
    for (let b = progress.batch; b < plan.length; b++) {
      const frac = progress.globalStep / totalSteps;
      trainer.setLearningRate(settings.lr * (1 - (1 - settings.lrFinal) * frac));
      const batch = buildBatch(plan[b]!);
      const loss = trainer.step(batch);
      for (const t of batch.targets) if (t >= 0) examplesSinceLog++;
      lossAvg = Number.isNaN(lossAvg) ? loss : 0.98 * lossAvg + 0.02 * loss;
      epochLoss += loss;
      epochBatches++;
      progress.globalStep++;
      progress.batch = b + 1;
      if (isSnapshotBatch(epoch, b + 1, plan.length, settings.epochs, settings.averageEpochs)) trainer.snapshot();
      const now = performance.now();
      if (now - lastLog > 10_000) {
        const rate = examplesSinceLog / ((now - lastLog) / 1000);
        const stepsPerSec = progress.globalStep / Math.max(elapsed(), 1e-3);
        const eta = (totalSteps - progress.globalStep) / Math.max(stepsPerSec, 1e-9);
        log(
          `epoch ${epoch + 1}/${settings.epochs} batch ${b + 1}/${plan.length} loss ${lossAvg.toFixed(4)} ${Math.round(rate)} examples/s elapsed ${formatDuration(elapsed())} ETA ${formatDuration(eta)}`,
        );
        lastLog = now;
        examplesSinceLog = 0;
      }
      if (now - lastSave > checkpointMinutes * 60_000) {
        progress.rngState = trainer.rng.state;
        progress.seconds = elapsed();
        sessionStart = performance.now();
        await saveCheckpoint(checkpointDir, trainer, progress);
        lastSave = performance.now();
      }
    }
    const entry: TrainProgress['history'][number] = { epoch: epoch + 1, loss: epochLoss / Math.max(epochBatches, 1) };
    if (valid.length > 0) {
      const scorer = scorerFromWeights('valid', { config: trainer.config, items: trainer.items, dense: trainer.denseData() }, data.vocab);
      const r = await evaluate(scorer, valid, numItems, { batchSize: 256 });
      scorer.model.dispose();
      Object.assign(entry, { recall20: r.recall20, mrr20: r.mrr20 });
      log(
        `epoch ${epoch + 1}: validation Recall@20 ${r.recall20.toFixed(4)} MRR@20 ${r.mrr20.toFixed(4)} (${r.cases} cases, ${r.seconds.toFixed(1)} s)`,
      );
      if (trainer.average && trainer.average.count > 0) {
        const avg = scorerFromWeights('valid-averaged', trainer.average.weights(trainer.config), data.vocab);
        const ra = await evaluate(avg, valid, numItems, { batchSize: 256 });
        avg.model.dispose();
        entry.averaged = { recall20: ra.recall20, mrr20: ra.mrr20, snapshots: trainer.average.count };
        log(
          `epoch ${epoch + 1}: validation of the weight average (${trainer.average.count} snapshots) Recall@20 ${ra.recall20.toFixed(4)} MRR@20 ${ra.mrr20.toFixed(4)}`,
        );
      }
    }
    progress.history.push(entry);
    log(`epoch ${epoch + 1} done: mean loss ${entry.loss.toFixed(4)}, elapsed ${formatDuration(elapsed())}`);
    progress.epoch = epoch + 1;
    progress.batch = 0;
    progress.rngState = trainer.rng.state;
    progress.seconds = elapsed();
    sessionStart = performance.now();
    await saveCheckpoint(checkpointDir, trainer, progress);
    lastSave = performance.now();
  }

  const trainSeconds = progress.seconds;
  const weights = trainer.shippedWeights();
  if (trainer.average) log(`shipping the mean of ${trainer.average.count} weight snapshots (the last ${settings.averageEpochs} epochs)`);
  const modelVersion = `${new Date().toISOString().slice(0, 10)}-${settings.seed}-${progress.globalStep}`;
  const metadata = {
    command: `npm run train -- ${argv.join(' ')}`,
    data: {
      dir: relative(process.cwd(), resolve(dataDir)),
      items: numItems,
      trainingSessions: train.length,
      heldOutValidationCases: valid.length,
    },
    settings,
    training: {
      seconds: Math.round(trainSeconds),
      steps: progress.globalStep,
      history: progress.history,
      backend: 'wasm (Node, 1 thread)',
    },
  };
  const intSizes = writeModelDir(outDir, weights, data.vocab, { int8: true, modelVersion, metadata });
  const floatSizes = writeModelDir(join(outDir, 'float'), weights, data.vocab, {
    int8: false,
    modelVersion,
    metadata,
    vocabPath: join(outDir, 'vocab.txt'),
  });
  writeMetadata(outDir, { ...metadata, modelVersion, sizes: { int8: intSizes, float: floatSizes } });
  log(`checkpoint kept in ${checkpointDir}${settings.averageEpochs > 0 ? '' : ': --resume --epochs N continues this run'}`);
  log(
    `wrote ${outDir} (int8: ${JSON.stringify(intSizes)}) and ${join(outDir, 'float')} (${JSON.stringify(floatSizes)}); trained ${formatDuration(trainSeconds)}`,
  );
}

runCli('train', main);
