/**
 * `npm run prepare-data -- <command> …`: turns source data into the split format (see
 * `readSplit`) that every trainer and evaluator reads.
 *
 *   diginetica-log --in <train-item-views.csv> --out <dir> [--min-item-count 5] [--test-days 7]
 *   online-retail  --in <dir with online_retail.csv.gz, products.csv> --out <dir>
 *                  [--test-days 30] [--max-session-length 50] [--min-item-count 5] [--pairs]
 *
 * Progress and the skipped-row counts go to stderr. Exit codes: 0 done, 2 unusable input or
 * usage (one line saying what is wrong), 1 anything unexpected.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ReadReport } from './dataset';
import { CATEGORIES } from './categoryOf';
import { ONLINE_RETAIL_CREDIT } from './onlineRetailCredit';
import { readCatalogue } from './readCatalogue';
import { readDigineticaLog } from './readDigineticaLog';
import { readOnlineRetail } from './readOnlineRetail';
import { writeSplit, type WrittenSplit } from './writeSplit';

const USAGE = `usage: prepare-data diginetica-log --in <csv> --out <dir> [--min-item-count N] [--test-days N]
       prepare-data online-retail --in <dir> --out <dir> [--test-days N] [--max-session-length N] [--min-item-count N] [--pairs]`;

/** A problem with the command line or its inputs: reported in one line, exit code 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

function log(message: string): void {
  process.stderr.write(message + '\n');
}

function logReport(report: ReadReport): void {
  const skipped = Object.entries(report.skipped).sort((a, b) => b[1] - a[1]);
  const total = skipped.reduce((n, [, c]) => n + c, 0);
  log(`  ${report.source}: ${report.rows} rows, ${total} skipped${skipped.length ? ':' : ''}`);
  for (const [reason, count] of skipped) log(`    ${reason.padEnd(28)} ${count}`);
  for (const e of report.examples) log(`    e.g. ${e}`);
}

function logStats(stats: object): void {
  for (const [k, v] of Object.entries(stats)) log(`    ${k.padEnd(28)} ${v}`);
}

function logWritten(written: WrittenSplit): void {
  for (const f of written.files) log(`  wrote ${f.path} (${(f.bytes / 1024).toFixed(0)} KiB)`);
}

function count(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--${flag} must be a positive integer, got "${value}"`);
  return Number(value);
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`--${flag} is required\n${USAGE}`);
  return value;
}

function dieIfMissing(path: string, what: string): void {
  if (!existsSync(path)) throw new UsageError(`${what} not found: ${path}`);
}

function digineticaLog(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: { in: { type: 'string' }, out: { type: 'string' }, 'min-item-count': { type: 'string' }, 'test-days': { type: 'string' } },
  });
  const input = required(values.in, 'in');
  const out = required(values.out, 'out');
  dieIfMissing(input, 'DIGINETICA log');
  const options = {
    minItemCount: count(values['min-item-count'], 'min-item-count', 5),
    testDays: count(values['test-days'], 'test-days', 7),
  };
  log(`reading ${input}`);
  const split = readDigineticaLog(input, options);
  logReport(split.report);
  log('  preprocessing:');
  logStats(split.stats);
  const written = writeSplit(out, split);
  writeFileSync(join(out, 'prepare-report.json'), JSON.stringify({ options, stats: split.stats, reports: [split.report] }, null, 2) + '\n');
  logWritten(written);
}

function onlineRetail(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: {
      in: { type: 'string' },
      out: { type: 'string' },
      'test-days': { type: 'string' },
      'max-session-length': { type: 'string' },
      'min-item-count': { type: 'string' },
      pairs: { type: 'boolean' },
    },
  });
  const input = required(values.in, 'in');
  const out = required(values.out, 'out');
  const table = join(input, 'online_retail.csv.gz');
  const products = join(input, 'products.csv');
  dieIfMissing(input, 'Online Retail directory');
  dieIfMissing(table, 'Online Retail table');
  dieIfMissing(products, 'Online Retail product table');
  const options = {
    testDays: count(values['test-days'], 'test-days', 30),
    maxSessionLength: count(values['max-session-length'], 'max-session-length', 50),
    minItemCount: count(values['min-item-count'], 'min-item-count', 5),
  };

  log(`reading ${table}`);
  const split = readOnlineRetail(table, options);
  logReport(split.report);
  log('  preprocessing (one basket = one session):');
  logStats(split.stats);

  log(`reading ${products}`);
  const catalogue = readCatalogue(products);
  logReport(catalogue.report);
  const perCategory = Object.fromEntries(CATEGORIES.map((c) => [c, catalogue.products.filter((p) => p.category === c).length]));
  log('  categories (derived from name keywords):');
  logStats(perCategory);
  const ids = new Set(catalogue.products.map((p) => p.id));
  const vocab = new Set(split.train.flat());
  const uncatalogued = [...vocab].filter((id) => !ids.has(id));
  log(
    `  ${vocab.size} session items, ${uncatalogued.length} of them not in the catalogue${uncatalogued.length ? ': ' + uncatalogued.slice(0, 10).join(' ') : ''}`,
  );

  // test_pairs.tsv is left out unless asked for: with baskets of up to 50 products it would be
  // larger than all other files together, and readSplit derives the identical cases.
  const written = writeSplit(out, split, { pairs: values.pairs ?? false });
  const files = [
    ['catalogue.json', '[\n' + catalogue.products.map((p) => JSON.stringify(p)).join(',\n') + '\n]\n'],
    [
      'CREDIT.txt',
      ONLINE_RETAIL_CREDIT +
        '\n\nThe files here are derived from it by `npm run prepare-data -- online-retail` (models/data/cli.ts): sessions are baskets (see models/data/readOnlineRetail.ts), names are title-cased, categories are keyword rules (models/data/categoryOf.ts).\n',
    ],
    [
      'prepare-report.json',
      JSON.stringify({ options, stats: split.stats, categories: perCategory, reports: [split.report, catalogue.report] }, null, 2) + '\n',
    ],
  ] as const;
  for (const [name, text] of files) {
    writeFileSync(join(out, name), text);
    written.files.push({ path: join(out, name), bytes: Buffer.byteLength(text) });
  }
  logWritten(written);
  if (!(values.pairs ?? false))
    log(`  (${written.cases} test cases; test_pairs.tsv not written, readSplit derives them; --pairs writes it)`);
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  try {
    if (command === 'diginetica-log') digineticaLog(rest);
    else if (command === 'online-retail') onlineRetail(rest);
    else throw new UsageError(command ? `unknown command "${command}"\n${USAGE}` : USAGE);
    return 0;
  } catch (err) {
    const e = err as Error;
    // parseArgs reports unknown flags with a code; data readers throw DataFileError.
    const usage = ['UsageError', 'DataFileError'].includes(e.name) || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    log(`prepare-data: ${e.message}`);
    if (!usage) log(e.stack ?? '');
    return usage ? 2 : 1;
  }
}

process.exitCode = main(process.argv.slice(2));
