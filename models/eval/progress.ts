/**
 * Builds an `onProgress` callback for {@link evaluate} that reports a method's cases done,
 * throughput and ETA on stderr.
 *
 * On a terminal it redraws one line; in a log file (not a TTY) it writes a line at most every
 * `everySeconds`, so a 15-minute run leaves a readable log instead of thousands of lines.
 */
export function progressReporter(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
  everySeconds = 10,
): (done: number, total: number) => void {
  const started = performance.now();
  let lastWrite = started;
  return (done, total) => {
    const now = performance.now();
    const finished = done >= total;
    const interval = stream.isTTY ? 200 : everySeconds * 1000;
    if (!finished && now - lastWrite < interval) return;
    lastWrite = now;
    const seconds = (now - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? (total - done) / rate : 0;
    const text =
      `[${label}] ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} cases` +
      `  ${Math.round(rate).toLocaleString('en-US')}/s` +
      (finished ? `  done in ${seconds.toFixed(1)} s` : `  ETA ${eta.toFixed(0)} s`);
    if (stream.isTTY) stream.write(`\r${text}\x1b[K${finished ? '\n' : ''}`);
    else stream.write(`${text}\n`);
  };
}
