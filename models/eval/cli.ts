/**
 * `npm run eval -- --data <dir> [--model <dir>] [--json] [--record] [--baselines pop,spop,…|none] [--limit N]`
 *
 * Scores the model (float and int8, when `--model` is given) and the baselines on a split-format
 * directory, ranking every target against the whole vocabulary with expected-rank ties, and
 * prints a table beside the published numbers. With `--json` the last stdout line is one JSON
 * object: `{"int8":{…},"float":{…},"baselines":{"pop":{…},…}}`, metrics as fractions.
 * `--record` also merges the results into `<model>/metadata.json` (what the shipped model states).
 *
 * Exit codes: 0 done, 2 bad arguments or unreadable data/model (one line on stderr, no stack).
 */
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runCli, UsageError } from '../../src/node/cliArgs';
import { writeMetadata } from '../../src/node/modelDir';
import type { TestCase } from '../data/dataset';
import { readSplit } from '../data/readSplit';
import { BASELINE_NAMES, createBaseline, isBaselineName, type BaselineName } from './baselines';
import { evaluate } from './evaluate';
import { loadModelScorers } from './modelScorers';
import { progressReporter } from './progress';
import { PUBLISHED } from './published';
import type { SessionScorer } from './scorer';

const USAGE =
  'usage: npm run eval -- --data <split dir> [--model <model dir>] [--json] ' +
  `[--record] [--baselines ${BASELINE_NAMES.join(',')}|none] [--limit N] [--batch-size N]`;

interface Row {
  key: string;
  recall20: number;
  mrr20: number;
  seconds: number;
  fitSeconds: number;
}

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

function parse(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        data: { type: 'string' },
        model: { type: 'string' },
        json: { type: 'boolean', default: false },
        record: { type: 'boolean', default: false },
        baselines: { type: 'string' },
        limit: { type: 'string' },
        'batch-size': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${USAGE}`);
  }
  if (!values.data) throw new UsageError(`--data is required\n${USAGE}`);
  if (values.record && !values.model) throw new UsageError(`--record needs --model\n${USAGE}`);
  let baselines: BaselineName[] = [...BASELINE_NAMES];
  if (values.baselines !== undefined) {
    const list = values.baselines
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s !== '');
    if (list.length === 1 && list[0] === 'none') baselines = [];
    else {
      const bad = list.filter((s) => !isBaselineName(s));
      if (bad.length > 0 || list.length === 0) {
        throw new UsageError(`unknown baseline "${bad.join(',')}": choose from ${BASELINE_NAMES.join(', ')} or none`);
      }
      baselines = BASELINE_NAMES.filter((n) => list.includes(n));
    }
  }
  return {
    data: values.data,
    model: values.model,
    json: values.json === true,
    record: values.record === true,
    baselines,
    limit: positiveInt('--limit', values.limit),
    batchSize: positiveInt('--batch-size', values['batch-size']) ?? 256,
  };
}

async function loadModel(modelDir: string, vocab: string[]): Promise<{ float: SessionScorer; int8: SessionScorer }> {
  try {
    return await loadModelScorers(modelDir, vocab);
  } catch (err) {
    throw new UsageError(`cannot load the model from ${modelDir}: ${(err as Error).message}`);
  }
}

const pct = (x: number) => (100 * x).toFixed(2);

/**
 * The published numbers are for the DIGINETICA split only (43,097 items, 60,858 cases); beside any
 * other data set they would mislead, so they are shown only when the data matches that split.
 */
function isDigineticaSplit(numItems: number, cases: number): boolean {
  return numItems === 43097 && cases === 60858;
}

function table(rows: Row[], withPublished: boolean): string {
  const head = ['method', 'Recall@20', 'MRR@20', 'eval s', 'fit s', '| published', 'R@20', 'MRR@20', 'source'];
  const body = rows.map((r) => {
    const p = withPublished ? PUBLISHED[r.key] : undefined;
    return [
      r.key,
      pct(r.recall20),
      pct(r.mrr20),
      r.seconds.toFixed(1),
      r.fitSeconds.toFixed(1),
      `| ${p?.method ?? ''}`,
      p ? p.recall20.toFixed(2) : '',
      p ? p.mrr20.toFixed(2) : '',
      p?.source ?? '',
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 0 || c === 5 || c === 8 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}

async function run(
  scorer: SessionScorer,
  key: string,
  cases: TestCase[],
  numItems: number,
  batchSize: number,
  fitSeconds: number,
): Promise<Row> {
  const r = await evaluate(scorer, cases, numItems, { batchSize, onProgress: progressReporter(key) });
  return { key, recall20: r.recall20, mrr20: r.mrr20, seconds: r.seconds, fitSeconds };
}

async function main(argv: string[]): Promise<void> {
  const opts = parse(argv);
  let data;
  try {
    data = readSplit(opts.data);
  } catch (err) {
    throw new UsageError(`cannot read split directory ${opts.data}: ${(err as Error).message}`);
  }
  for (const report of data.reports) {
    const skipped = Object.entries(report.skipped);
    process.stderr.write(
      `${report.source}: ${report.rows} rows, skipped ${skipped.length === 0 ? 'none' : skipped.map(([k, v]) => `${k}=${v}`).join(' ')}\n`,
    );
  }
  const numItems = data.vocab.length;
  const cases = opts.limit === undefined ? data.cases : data.cases.slice(0, opts.limit);
  if (cases.length === 0) throw new UsageError(`${opts.data} has no evaluation cases (need test_pairs.tsv or test_sessions.txt)`);
  process.stderr.write(`${cases.length} cases, ${numItems} items, ${data.train.length} training sessions\n`);

  const rows: Row[] = [];
  const modelRows: Record<string, Row> = {};
  if (opts.model !== undefined) {
    const t = performance.now();
    const model = await loadModel(opts.model, data.vocab);
    const fit = (performance.now() - t) / 1000;
    for (const key of ['float', 'int8'] as const) {
      modelRows[key] = await run(model[key], key, cases, numItems, opts.batchSize, key === 'float' ? fit : 0);
      rows.push(modelRows[key]);
    }
  }
  const baselineRows: Record<string, Row> = {};
  for (const name of opts.baselines) {
    const t = performance.now();
    const scorer = createBaseline(name, data.train, numItems);
    baselineRows[name] = await run(scorer, name, cases, numItems, opts.batchSize, (performance.now() - t) / 1000);
    rows.push(baselineRows[name]);
  }

  process.stdout.write(`${table(rows, isDigineticaSplit(numItems, cases.length))}\n`);
  if (opts.json) {
    const metrics = (r: Row) => ({ recall20: round(r.recall20), mrr20: round(r.mrr20), seconds: round(r.seconds, 2) });
    const json: Record<string, unknown> = {};
    for (const key of ['int8', 'float']) if (modelRows[key]) json[key] = metrics(modelRows[key]);
    json.baselines = Object.fromEntries(Object.entries(baselineRows).map(([k, r]) => [k, metrics(r)]));
    process.stdout.write(`${JSON.stringify(json)}\n`);
  }
  if (opts.record && opts.model !== undefined) {
    const metrics = (r: Row) => ({ recall20: round(r.recall20), mrr20: round(r.mrr20) });
    writeMetadata(opts.model, {
      test: {
        data: relative(process.cwd(), resolve(opts.data)),
        cases: cases.length,
        items: numItems,
        ties: 'expected rank, ties broken uniformly at random in expectation',
        ...Object.fromEntries(Object.entries(modelRows).map(([k, r]) => [k, metrics(r)])),
        baselines: Object.fromEntries(Object.entries(baselineRows).map(([k, r]) => [k, metrics(r)])),
        command: `npm run eval -- ${process.argv.slice(2).join(' ')}`,
      },
    });
    process.stderr.write(`recorded the results in ${opts.model}/metadata.json\n`);
  }
}

function round(x: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

runCli('eval', main);
