import { existsSync } from 'node:fs';
import { categoryOf } from './categoryOf';
import { csvRecords, tableRows } from './csvRecords';
import { DataFileError } from './dataFileError';
import { newReport, skipRow, type ReadReport } from './dataset';
import { displayName } from './displayName';
import { NON_GOODS_CODES, productCode } from './productCode';
import { readTextMaybeGzip } from './readTextMaybeGzip';

/** One product of the demo shop, as written to `catalogue.json`. */
export interface CatalogueProduct {
  /** Upper-cased stock code: the item id of the session data. */
  id: string;
  /** Display name (see {@link displayName}). */
  name: string;
  /** Category derived from name keywords (see {@link categoryOf}); not from the source data. */
  category: string;
  /** Most frequent unit price in GBP. */
  price: number;
  /** Number of baskets the product was sold in. */
  popularity: number;
}

/** The catalogue and what its reader skipped. */
export interface Catalogue {
  /** Products in file order (the source is sorted by popularity, most popular first). */
  products: CatalogueProduct[];
  /**
   * Skipped rows by reason: `non_goods` (carriage, image fee, gift voucher), `empty_line`,
   * `unterminated_quote`, `bad_field_count`, `bad_stock_code`, `duplicate_stock_code`,
   * `empty_name`, `bad_price` (not a positive number), `bad_popularity` (not a count).
   */
  report: ReadReport;
}

const REQUIRED = ['stock_code', 'name', 'price_mode', 'n_baskets'] as const;
const DECIMAL = /^\d+(\.\d*)?$|^\.\d+$/;
const COUNT = /^\d{1,9}$/;

/**
 * Builds the demo-shop catalogue from the text of `products.csv` (the product table derived from
 * UCI Online Retail: `stock_code,name,…,price_mode,…,n_baskets,…`, RFC 4180 quoting). Columns
 * are found by header name. Throws {@link DataFileError} only when a required column is missing.
 */
export function catalogueFromCsv(text: string, source: string): Catalogue {
  const report = newReport(source);
  const records = csvRecords(text);
  const header = records.next();
  const columns = header.done ? [] : header.value.fields.map((f) => f.trim());
  const missing = REQUIRED.filter((name) => !columns.includes(name));
  if (missing.length > 0) throw new DataFileError(`${source}: header lacks ${missing.join(', ')} (expected ${REQUIRED.join(',')},…)`);
  const col = (name: (typeof REQUIRED)[number]) => columns.indexOf(name);
  const [codeAt, nameAt, priceAt, basketsAt] = [col('stock_code'), col('name'), col('price_mode'), col('n_baskets')];

  const products: CatalogueProduct[] = [];
  const seen = new Set<string>();
  for (const { fields, line, raw } of tableRows(records, columns.length, report)) {
    const id = productCode(fields[codeAt]!);
    if (id === null) {
      skipRow(report, 'bad_stock_code', line, raw);
      continue;
    }
    if (NON_GOODS_CODES.has(id)) {
      skipRow(report, 'non_goods', line, raw);
      continue;
    }
    if (seen.has(id)) {
      skipRow(report, 'duplicate_stock_code', line, raw);
      continue;
    }
    const name = displayName(fields[nameAt]!);
    if (name === '') {
      skipRow(report, 'empty_name', line, raw);
      continue;
    }
    const price = fields[priceAt]!.trim();
    if (!DECIMAL.test(price) || Number(price) <= 0) {
      skipRow(report, 'bad_price', line, raw);
      continue;
    }
    const baskets = fields[basketsAt]!.trim();
    if (!COUNT.test(baskets)) {
      skipRow(report, 'bad_popularity', line, raw);
      continue;
    }
    seen.add(id);
    products.push({
      id,
      name,
      category: categoryOf(fields[nameAt]!),
      price: Math.round(Number(price) * 100) / 100,
      popularity: Number(baskets),
    });
  }
  return { products, report };
}

/**
 * Reads `products.csv` (plain or gzipped) into the demo-shop catalogue with
 * {@link catalogueFromCsv}. Throws {@link DataFileError} when the file is missing.
 */
export function readCatalogue(path: string): Catalogue {
  if (!existsSync(path)) throw new DataFileError(`product table not found: ${path}`);
  return catalogueFromCsv(readTextMaybeGzip(path), path);
}
