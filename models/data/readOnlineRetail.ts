import { existsSync } from 'node:fs';
import { csvRecords, tableRows } from './csvRecords';
import { DataFileError } from './dataFileError';
import { newReport, skipRow, type ReadReport } from './dataset';
import { filterRareItems } from './filterRareItems';
import { NON_GOODS_CODES, productCode } from './productCode';
import { readTextMaybeGzip } from './readTextMaybeGzip';
import { removeUnknownTestItems } from './removeUnknownTestItems';
import type { SessionSplit } from './writeSplit';

/** Knobs of the Online Retail preprocessing. */
export interface OnlineRetailOptions {
  /** Baskets dated after `last sale − testDays` are the test set. Default 30. */
  testDays?: number;
  /** Keep at most this many products of a basket, the first in file order. Default 50. */
  maxSessionLength?: number;
  /** Products in fewer than this many basket lines (all baskets) are removed. Default 5. */
  minItemCount?: number;
}

/** How many baskets and lines each preprocessing step kept or removed. */
export interface OnlineRetailStats {
  /** Lines that passed the sales-line filters (and were not a repeat within their basket). */
  salesLines: number;
  /** Baskets (invoices) with at least one sales line; `guestBaskets` of them have no customer. */
  baskets: number;
  guestBaskets: number;
  /** Baskets of a single product, dropped (no next item to predict). */
  singleProductBaskets: number;
  /** Distinct products below `minItemCount`, and their lines, removed. */
  rareItems: number;
  rareItemLines: number;
  /** Baskets left shorter than 2 by the item filter, dropped. */
  shortAfterItemFilter: number;
  /** Baskets longer than `maxSessionLength`, cut, and the lines cut from them. */
  cappedBaskets: number;
  linesBeyondCap: number;
  /** Time of the last sale and the split time (`YYYY-MM-DD HH:MM:SS`). */
  maxTime: string;
  splitTime: string;
  trainSessions: number;
  trainLines: number;
  /** Distinct training products: the vocabulary size. */
  items: number;
  /** Test-period baskets before unknown products were removed. */
  testSessionsDated: number;
  unknownTestLines: number;
  shortTestSessions: number;
  testSessions: number;
  testLines: number;
  /** Evaluation cases: the sum over test sessions of (length − 1). */
  cases: number;
}

/** UCI Online Retail turned into a train/test split of basket sessions. */
export interface OnlineRetailSplit extends SessionSplit {
  /** Every CSV record read, and every one not used, by reason (see {@link onlineRetailSplit}). */
  report: ReadReport;
  stats: OnlineRetailStats;
}

const DAY_MS = 86_400_000;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/;
const INTEGER = /^[+-]?\d{1,9}$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)$/;
const REQUIRED = ['InvoiceNo', 'StockCode', 'Quantity', 'InvoiceDate', 'UnitPrice', 'CustomerID'] as const;

/** Milliseconds since the epoch of a `YYYY-MM-DD HH:MM[:SS]` timestamp read as UTC, or null. */
function timestampMs(text: string): number | null {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) return null;
  const p = m.slice(1, 7).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  const ms = Date.UTC(p[0], p[1] - 1, p[2], p[3], p[4], p[5]);
  const d = new Date(ms);
  if (d.getUTCMonth() !== p[1] - 1 || d.getUTCDate() !== p[2] || p[3] > 23 || p[4] > 59 || p[5] > 59) return null;
  return ms;
}

function formatMs(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 19).replace('T', ' ') : '';
}

interface Basket {
  items: string[];
  seen: Set<string>;
  time: number;
  guest: boolean;
}

/**
 * Turns the UCI Online Retail table (CSV text with header, RFC 4180 quoting) into sessions.
 *
 * **A session is one basket (invoice), not a customer's baskets over time.** The demo shop
 * recommends the next item within one browsing visit, and a basket is the record of one visit:
 * what a shopper gathered together, so it carries the "goes with what is in the cart" signal we
 * want. A customer's baskets lie weeks or months apart, so chaining them would teach
 * cross-visit drift, not in-session intent, and would drop guest baskets. The costs are known:
 * a basket's lines share one timestamp, so the order inside it is only the file's row order
 * (probably the order lines were entered, but undocumented); and baskets are big (median 15
 * products, a long wholesale tail), so each is cut to its first `maxSessionLength` products
 * (default 50, a long visit; about one basket in ten is longer).
 *
 * Row filters (the data README's sales lines), each counted in `report.skipped` by reason:
 * `cancellation` (InvoiceNo starts with C), `adjustment` (A), `non_positive_quantity`,
 * `non_positive_price`, `not_a_product_code` (not `^[0-9]{5}[A-Za-z]{0,3}$`), `non_goods`
 * (carriage, image fee, gift voucher), and `repeat_in_basket` (a product already in the
 * basket: a second line is an invoicing artifact such as a second price band, not a new view,
 * and keeping it would teach the model to recommend what is already in the cart). Malformed
 * records: `empty_line`, `unterminated_quote`, `bad_field_count`, `missing_invoice`,
 * `bad_quantity`, `bad_unit_price`, `bad_date`. Stock codes are upper-cased.
 *
 * Then, as for DIGINETICA: drop single-product baskets, remove products seen fewer than
 * `minItemCount` times and baskets left shorter than 2, cap, split by time (baskets after
 * `last sale − testDays` are test; baskets take the time of their latest line), remove test
 * products never seen in training and test baskets left shorter than 2. Both sets are in time
 * order. Throws {@link DataFileError} only when the header lacks a required column.
 */
export function onlineRetailSplit(text: string, source: string, options: OnlineRetailOptions = {}): OnlineRetailSplit {
  const testDays = options.testDays ?? 30;
  const cap = options.maxSessionLength ?? 50;
  const minItemCount = options.minItemCount ?? 5;
  const report = newReport(source);
  const records = csvRecords(text);
  const header = records.next();
  const columns = header.done ? [] : header.value.fields.map((f) => f.trim());
  const col = Object.fromEntries(REQUIRED.map((name) => [name, columns.indexOf(name)])) as Record<(typeof REQUIRED)[number], number>;
  const missing = REQUIRED.filter((name) => col[name] < 0);
  if (missing.length > 0) {
    throw new DataFileError(`${source}: header lacks ${missing.join(', ')} (expected ${REQUIRED.join(',')},…)`);
  }

  const baskets = new Map<string, Basket>();
  let salesLines = 0;
  for (const { fields, line, raw } of tableRows(records, columns.length, report)) {
    const invoice = fields[col.InvoiceNo]!.trim();
    if (invoice === '') {
      skipRow(report, 'missing_invoice', line, raw);
      continue;
    }
    if (/^c/i.test(invoice)) {
      skipRow(report, 'cancellation', line, raw);
      continue;
    }
    if (/^a/i.test(invoice)) {
      skipRow(report, 'adjustment', line, raw);
      continue;
    }
    const quantity = fields[col.Quantity]!.trim();
    if (!INTEGER.test(quantity)) {
      skipRow(report, 'bad_quantity', line, raw);
      continue;
    }
    if (Number(quantity) <= 0) {
      skipRow(report, 'non_positive_quantity', line, raw);
      continue;
    }
    const price = fields[col.UnitPrice]!.trim();
    if (!DECIMAL.test(price)) {
      skipRow(report, 'bad_unit_price', line, raw);
      continue;
    }
    if (Number(price) <= 0) {
      skipRow(report, 'non_positive_price', line, raw);
      continue;
    }
    const code = productCode(fields[col.StockCode]!);
    if (code === null) {
      skipRow(report, 'not_a_product_code', line, raw);
      continue;
    }
    if (NON_GOODS_CODES.has(code)) {
      skipRow(report, 'non_goods', line, raw);
      continue;
    }
    const time = timestampMs(fields[col.InvoiceDate]!);
    if (time === null) {
      skipRow(report, 'bad_date', line, raw);
      continue;
    }

    let basket = baskets.get(invoice);
    if (!basket) {
      basket = { items: [], seen: new Set(), time, guest: fields[col.CustomerID]!.trim() === '' };
      baskets.set(invoice, basket);
    }
    basket.time = Math.max(basket.time, time);
    if (basket.seen.has(code)) {
      skipRow(report, 'repeat_in_basket', line, raw);
      continue;
    }
    basket.seen.add(code);
    basket.items.push(code);
    salesLines++;
  }

  const all = [...baskets.values()];
  const multi = all.filter((b) => b.items.length >= 2);
  const filtered = filterRareItems(multi, minItemCount);
  let cappedBaskets = 0;
  let linesBeyondCap = 0;
  let maxTime = -Infinity;
  for (const b of filtered.sessions) {
    if (b.items.length > cap) {
      cappedBaskets++;
      linesBeyondCap += b.items.length - cap;
      b.items = b.items.slice(0, cap);
    }
    maxTime = Math.max(maxTime, b.time);
  }
  const splitTime = maxTime - testDays * DAY_MS;
  const byTime = (a: Basket, b: Basket) => a.time - b.time;
  const ordered = filtered.sessions.sort(byTime);
  const train = ordered.filter((b) => b.time <= splitTime).map((b) => b.items);
  const dated = ordered.filter((b) => b.time > splitTime).map((b) => b.items);
  const known = removeUnknownTestItems(train, dated);

  const lines = (ss: string[][]) => ss.reduce((n, s) => n + s.length, 0);
  const stats: OnlineRetailStats = {
    salesLines,
    baskets: all.length,
    guestBaskets: all.filter((b) => b.guest).length,
    singleProductBaskets: all.length - multi.length,
    rareItems: filtered.itemsRemoved,
    rareItemLines: filtered.occurrencesRemoved,
    shortAfterItemFilter: filtered.sessionsDropped,
    cappedBaskets,
    linesBeyondCap,
    maxTime: formatMs(maxTime),
    splitTime: formatMs(splitTime),
    trainSessions: train.length,
    trainLines: lines(train),
    items: known.trainItems,
    testSessionsDated: dated.length,
    unknownTestLines: known.occurrencesRemoved,
    shortTestSessions: known.sessionsDropped,
    testSessions: known.test.length,
    testLines: lines(known.test),
    cases: lines(known.test) - known.test.length,
  };
  return { train, test: known.test, report, stats };
}

/**
 * Reads `online_retail.csv(.gz)` (gzip detected by its magic bytes) and preprocesses it with
 * {@link onlineRetailSplit}. Throws {@link DataFileError} when the file is missing.
 */
export function readOnlineRetail(path: string, options: OnlineRetailOptions = {}): OnlineRetailSplit {
  if (!existsSync(path)) throw new DataFileError(`Online Retail table not found: ${path}`);
  return onlineRetailSplit(readTextMaybeGzip(path), path, options);
}
