/** Raised for a bad command line; the CLIs print its message and exit with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Runs a command-line tool's `main` on the process arguments. A bad command line or data
 * directory (`UsageError`, `DataFileError`, or another error name in `userErrors`) prints
 * `<name>: <message>` and exits with code 2; anything else prints its stack and exits with code 1.
 */
export function runCli(name: string, main: (argv: string[]) => Promise<void>, userErrors: readonly string[] = []): void {
  const expected = new Set(['UsageError', 'DataFileError', ...userErrors]);
  main(process.argv.slice(2)).catch((err: unknown) => {
    if (err instanceof Error && expected.has(err.name)) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

/**
 * Parses `--key value` and `--flag` arguments. `flags` lists the options that take no value.
 * Unknown options are rejected so that a typo never silently falls back to a default.
 */
export function parseArgs(argv: string[], known: string[], flags: string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument "${a}"`);
    const key = a.slice(2);
    if (flags.includes(key)) {
      out.set(key, 'true');
      continue;
    }
    if (!known.includes(key)) throw new UsageError(`unknown option --${key}`);
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`--${key} needs a value`);
    out.set(key, v);
    i++;
  }
  return out;
}

/** A numeric option, checked against `[min, max]`. */
export function numberArg(args: Map<string, string>, key: string, fallback: number, min: number, max: number): number {
  const raw = args.get(key);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new UsageError(`--${key} must be a number in [${min}, ${max}], got "${raw}"`);
  return v;
}

/** Formats seconds as `1h02m`, `4m05s` or `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}
