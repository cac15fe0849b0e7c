import { describe, expect, it } from 'vitest';
import { DataFileError } from '../../../models/data/dataFileError';
import { catalogueFromCsv, readCatalogue } from '../../../models/data/readCatalogue';

const fixture = (name: string) => new URL(`../../fixtures/${name}`, import.meta.url).pathname;

describe('readCatalogue on real products.csv rows', () => {
  const { products, report } = readCatalogue(fixture('products-sample.csv'));

  it('keeps the goods in popularity order and excludes carriage, image fee and gift voucher', () => {
    expect(report.rows).toBe(42);
    expect(report.skipped).toEqual({ non_goods: 3 });
    expect(products).toHaveLength(39);
    expect(products.map((p) => p.id)).not.toContain('23444');
    expect(products[0]).toEqual({
      id: '85123A',
      name: 'White Hanging Heart T-Light Holder',
      category: 'Candles & Lights',
      price: 2.95,
      popularity: 2265,
    });
  });

  it('reads quoted names with commas and doubled quotes', () => {
    const byId = new Map(products.map((p) => [p.id, p]));
    expect(byId.get('21216')?.name).toBe('Set 3 Retrospot Tea, Coffee, Sugar');
    expect(byId.get('21900')?.name).toBe('Key Fob, Shed');
    expect(byId.get('22041')?.name).toBe('Record Frame 7" Single Size');
    expect(byId.get('85099C')?.name).toBe('Jumbo Bag Baroque Black White');
  });
});

describe('readCatalogue bad rows', () => {
  it('counts each bad row by reason', () => {
    const { products, report } = readCatalogue(fixture('products-bad-rows.csv'));
    expect(products.map((p) => p.id)).toEqual(['85123A']);
    expect(report.rows).toBe(10);
    expect(report.skipped).toEqual({
      duplicate_stock_code: 1,
      bad_stock_code: 1,
      bad_field_count: 1,
      empty_name: 1,
      bad_price: 2,
      bad_popularity: 1,
      non_goods: 1,
      empty_line: 1,
    });
  });

  it('throws a named error for a missing file or a header without the needed columns', () => {
    expect(() => readCatalogue(fixture('nope.csv'))).toThrow(DataFileError);
    expect(() => catalogueFromCsv('stock_code,name\n85123A,X\n', 'inline')).toThrow(/header lacks price_mode, n_baskets/);
  });
});
