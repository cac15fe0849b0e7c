import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataFileError } from '../../../models/data/dataFileError';
import { onlineRetailSplit, readOnlineRetail } from '../../../models/data/readOnlineRetail';

const fixture = (name: string) => new URL(`../../fixtures/${name}`, import.meta.url).pathname;
const SAMPLE = fixture('online-retail-sample.csv');
const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';

// Expected numbers were computed independently (Python's csv module and a separate script)
// from the same fixture: 479 real lines, 44 whole invoices from 2010-12-01 … 2011-12-09.
describe('readOnlineRetail on a real cut of online_retail.csv.gz', () => {
  const split = readOnlineRetail(SAMPLE, { minItemCount: 1 });

  it('counts every dropped line by reason', () => {
    expect(split.report.rows).toBe(479);
    expect(split.report.skipped).toEqual({
      not_a_product_code: 3, // POST ×2, D (discount)
      repeat_in_basket: 3,
      cancellation: 2,
      adjustment: 1, // A563185 "Adjust bad debt"
      non_positive_price: 1,
      non_positive_quantity: 1,
      non_goods: 1, // 23702 image fee
    });
  });

  it('parses quoted descriptions with commas and doubled quotes without losing the row', () => {
    // 536381 "AIRLINE LOUNGE,METAL SIGN", 536477 "RECORD FRAME 7"" SINGLE SIZE ", 536520 "TRAY, …".
    const items = new Set(split.train.flat());
    for (const code of ['82567', '22041', '22760']) expect(items).toContain(code);
    expect(split.report.skipped.bad_field_count).toBeUndefined();
    // "SWISS ROLL TOWEL, CHOCOLATE  SPOTS" is the 70th line of 536520, the basket the cap cuts.
    expect(items).not.toContain('21111');
    expect(readOnlineRetail(SAMPLE, { minItemCount: 1, maxSessionLength: 100 }).train.flat()).toContain('21111');
  });

  it('makes one session per basket, in file row order, and splits off the last 30 days', () => {
    expect(split.stats).toMatchObject({
      baskets: 38,
      singleProductBaskets: 5,
      cappedBaskets: 1,
      maxTime: '2011-12-09 12:50:00',
      splitTime: '2011-11-09 12:50:00',
      trainSessions: 22,
      trainLines: 291,
      items: 228,
      testSessionsDated: 11,
      testSessions: 5,
      cases: 22,
    });
    expect(split.train[0]!.slice(0, 5)).toEqual(['85123A', '71053', '84406B', '84029G', '84029E']);
    expect(split.test.at(-1)!.slice(0, 5)).toEqual(['22631', '22728', '22727', '22726', '22629']);
    const known = new Set(split.train.flat());
    for (const s of split.test) for (const id of s) expect(known.has(id)).toBe(true);
  });

  it('caps long baskets at their first maxSessionLength products after the item filter', () => {
    const s = readOnlineRetail(SAMPLE, { maxSessionLength: 10, minItemCount: 2 });
    expect(s.stats).toMatchObject({
      cappedBaskets: 6,
      trainSessions: 20,
      trainLines: 114,
      items: 62,
      testSessionsDated: 7,
      testSessions: 5,
      cases: 20,
    });
    for (const b of [...s.train, ...s.test]) expect(b.length).toBeLessThanOrEqual(10);
  });

  it('reads the same data gzipped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'retail-'));
    const gz = join(dir, 'online_retail.csv.gz');
    writeFileSync(gz, gzipSync(readFileSync(SAMPLE)));
    const z = readOnlineRetail(gz, { minItemCount: 1 });
    expect(z.train).toEqual(split.train);
    expect(z.test).toEqual(split.test);
  });
});

describe('onlineRetailSplit rules', () => {
  const line = (invoice: string, code: string, time: string, qty = '1', price = '1.0') =>
    `${invoice},${code},"X, Y",${qty},${time},${price},,United Kingdom`;

  it('upper-cases stock codes and drops a product repeated in its basket', () => {
    const text = [
      HEADER,
      line('1', '85099b', '2011-01-01 10:00:00'),
      line('1', '85099B', '2011-01-01 10:00:00'),
      line('1', '22386', '2011-01-01 10:00:00'),
      line('2', '85099B', '2011-06-01 10:00:00'),
      line('2', '22386', '2011-06-01 10:00:00'),
    ].join('\n');
    const s = onlineRetailSplit(text, 'inline', { minItemCount: 1 });
    expect(s.train).toEqual([['85099B', '22386']]);
    expect(s.test).toEqual([['85099B', '22386']]);
    expect(s.report.skipped).toEqual({ repeat_in_basket: 1 });
  });

  it('orders baskets by time and drops test products unknown to training', () => {
    const text = [
      HEADER,
      line('9', '10001', '2011-03-01 10:00:00'),
      line('9', '10002', '2011-03-01 10:00:00'),
      line('8', '10002', '2011-02-01 10:00:00'),
      line('8', '10003', '2011-02-01 10:00:00'),
      line('7', '10001', '2011-12-01 10:00:00'),
      line('7', '99999', '2011-12-01 10:00:00'),
      line('7', '10003', '2011-12-01 10:00:00'),
    ].join('\n');
    const s = onlineRetailSplit(text, 'inline', { minItemCount: 1 });
    expect(s.train).toEqual([
      ['10002', '10003'],
      ['10001', '10002'],
    ]);
    expect(s.test).toEqual([['10001', '10003']]);
    expect(s.stats.unknownTestLines).toBe(1);
  });
});

describe('readOnlineRetail bad rows', () => {
  it('counts malformed records by reason instead of throwing', () => {
    const s = readOnlineRetail(fixture('online-retail-bad-rows.csv'));
    expect(s.report.rows).toBe(9);
    expect(s.report.skipped).toEqual({
      bad_field_count: 2,
      missing_invoice: 1,
      bad_quantity: 1,
      bad_unit_price: 1,
      bad_date: 2,
      empty_line: 1,
      unterminated_quote: 1,
    });
    expect(s.train).toEqual([]);
  });

  it('throws a named error for a missing file or a header without the needed columns', () => {
    expect(() => readOnlineRetail(fixture('nope.csv.gz'))).toThrow(DataFileError);
    expect(() => onlineRetailSplit('a,b,c\n1,2,3\n', 'inline')).toThrow(/header lacks InvoiceNo/);
  });
});
