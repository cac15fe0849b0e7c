import { describe, expect, it } from 'vitest';
import { csvRecords } from '../../../models/data/csvRecords';

const all = (text: string) => [...csvRecords(text)];

describe('csvRecords', () => {
  it('splits plain records on LF and CRLF', () => {
    expect(all('a,b,c\r\n1,2,3\n').map((r) => r.fields)).toEqual([
      ['a', 'b', 'c'],
      ['1', '2', '3'],
    ]);
  });

  it('keeps commas inside quotes and unescapes doubled quotes (real Online Retail lines)', () => {
    const text = '536381,82567,"AIRLINE LOUNGE,METAL SIGN",2\n536477,22041,"RECORD FRAME 7"" SINGLE SIZE ",48\n';
    expect(all(text).map((r) => r.fields)).toEqual([
      ['536381', '82567', 'AIRLINE LOUNGE,METAL SIGN', '2'],
      ['536477', '22041', 'RECORD FRAME 7" SINGLE SIZE ', '48'],
    ]);
  });

  it('keeps line breaks inside quotes and numbers records by their first line', () => {
    const recs = all('x,"two\nlines",y\nnext,1,2\n');
    expect(recs[0]!.fields).toEqual(['x', 'two\nlines', 'y']);
    expect(recs.map((r) => r.line)).toEqual([1, 3]);
  });

  it('handles empty fields, a trailing comma, an empty line and a missing final newline', () => {
    expect(all('a,,c,\n\n"",b').map((r) => r.fields)).toEqual([['a', '', 'c', ''], [''], ['', 'b']]);
  });

  it('is lenient with a quote inside an unquoted field and text after a closing quote', () => {
    expect(all('42"NECKL.,"ab"c,d\n')[0]!.fields).toEqual(['42"NECKL.', 'abc', 'd']);
  });

  it('flags an unclosed quote instead of throwing', () => {
    const recs = all('a,b\n1,"never closed,2\n3,4\n');
    expect(recs).toHaveLength(2);
    expect(recs[1]).toMatchObject({ line: 2, unterminated: true });
    expect(recs[0]!.unterminated).toBe(false);
  });

  it('ignores a byte-order mark', () => {
    expect(all('\uFEFFInvoiceNo,StockCode\n')[0]!.fields).toEqual(['InvoiceNo', 'StockCode']);
  });
});
