/**
 * Fixed-key AES-128 throughput on this machine: the cost model of the sparse secure aggregation
 * that `--private-rows` simulates (each aggregator expands every device's distributed-point-
 * function keys over the whole catalogue, and fixed-key AES is the PRG of draft-irtf-cfrg-vdaf's
 * IDPF). Encrypts `--mb` MiB with `node:crypto` aes-128-ecb (one block cipher call per 16 bytes,
 * as a fixed-key PRG makes them) `--passes` times and prints the best and median GB/s, and what
 * one round of the simulated design would cost at that rate.
 *
 *   npx tsx models/federated/benchFixedKeyAes.ts [--mb 64] [--passes 10]
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { numberArg, parseArgs, runCli } from '../../src/node/cliArgs';

async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv, ['mb', 'passes', 'rows', 'devices', 'items', 'row-bytes']);
  const mb = numberArg(args, 'mb', 64, 1, 4096);
  const passes = numberArg(args, 'passes', 10, 1, 1000);
  // The round the estimate is for: 256 devices × 32 rows over 43,097 items of 128-byte payloads.
  const devices = numberArg(args, 'devices', 256, 1, 1e7);
  const rows = numberArg(args, 'rows', 32, 1, 4096);
  const items = numberArg(args, 'items', 43_097, 2, 1e9);
  const rowBytes = numberArg(args, 'row-bytes', 128, 1, 1e6);
  const input = randomBytes(mb * 2 ** 20);
  const key = randomBytes(16);
  const rates: number[] = [];
  for (let p = 0; p < passes; p++) {
    const cipher = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
    const t0 = process.hrtime.bigint();
    cipher.update(input);
    cipher.final();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(input.length / seconds / 1e9);
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  const best = rates[rates.length - 1]!;
  // Full-domain expansion of one key: the tree's 2^⌈log2 N⌉ seeds of 16 bytes (two children per
  // node: about 2 × 16 bytes per leaf) plus N payloads of rowBytes.
  const levels = Math.ceil(Math.log2(items));
  const perKey = 2 * 16 * 2 ** levels + items * rowBytes;
  const perRound = perKey * devices * rows;
  process.stdout.write(
    `fixed-key AES-128 (node:crypto aes-128-ecb, ${mb} MiB × ${passes}): median ${median.toFixed(2)} GB/s, best ${best.toFixed(2)} GB/s\n` +
      `one key over ${items} items (${levels} levels, ${rowBytes}-byte rows): ${(perKey / 1e6).toFixed(1)} MB of PRG output; ` +
      `a round of ${devices} devices × ${rows} rows: ${(perRound / 1e9).toFixed(1)} GB, ${(perRound / 1e9 / median).toFixed(0)} s per aggregator on one core at the median\n`,
  );
}

runCli('benchFixedKeyAes', main, ['UsageError']);
