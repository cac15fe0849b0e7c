import { skipRow, type ReadReport } from './dataset';

/** One CSV record (a logical row) and the physical line it starts on. */
export interface CsvRecord {
  /** Field values with quoting removed (`""` inside quotes becomes `"`). */
  fields: string[];
  /** 1-based line number of the record's first character, for error messages. */
  line: number;
  /** True when the record's last quoted field never closed (it ran to the end of the text). */
  unterminated: boolean;
}

const QUOTE = 34; // "
const COMMA = 44; // ,
const CR = 13;
const LF = 10;

/** Index of the first `,`, `\r` or `\n` at or after `i`, or `text.length`. */
function fieldEnd(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === COMMA || c === CR || c === LF) return i;
    i++;
  }
  return n;
}

function countNewlines(text: string, from: number, to: number): number {
  let k = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) k++;
  return k;
}

/**
 * Splits RFC 4180 CSV text into records: fields separated by commas, records by CRLF or LF,
 * fields optionally enclosed in double quotes, inside which commas, line breaks and doubled
 * quotes (`""`) are literal. A leading byte-order mark is ignored.
 *
 * The parser is lenient where the RFC is silent about recovery, because real exports break it:
 * a quote inside an unquoted field is kept as a character (`7"` in a product name), and text
 * after a closing quote is appended to the field. An unclosed quote is the one unrecoverable
 * case: it swallows the rest of the text, so the record is flagged `unterminated` for the
 * caller to count. An empty line yields a record with one empty field.
 *
 * A generator, so a large file is never held as an array of records.
 */
export function* csvRecords(text: string): Generator<CsvRecord> {
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let unterminated = false;
    for (;;) {
      let value: string;
      if (text.charCodeAt(i) === QUOTE) {
        value = '';
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) {
            value += text.slice(i);
            line += countNewlines(text, i, n);
            i = n;
            unterminated = true;
            break;
          }
          value += text.slice(i, q);
          line += countNewlines(text, i, q);
          if (text.charCodeAt(q + 1) === QUOTE) {
            value += '"';
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        const j = fieldEnd(text, i);
        value += text.slice(i, j);
        i = j;
      } else {
        const j = fieldEnd(text, i);
        value = text.slice(i, j);
        i = j;
      }
      fields.push(value);
      if (i < n && text.charCodeAt(i) === COMMA) {
        i++;
        continue;
      }
      break;
    }
    if (text.charCodeAt(i) === CR) i++;
    if (text.charCodeAt(i) === LF) i++;
    line++;
    yield { fields, line: start, unterminated };
  }
}

/**
 * Why a record cannot be a row of a table with `columnCount` columns (`unterminated_quote`,
 * `empty_line`, `bad_field_count`), or null when its shape is fine. Readers count the reason.
 */
export function recordShapeProblem(r: CsvRecord, columnCount: number): string | null {
  if (r.unterminated) return 'unterminated_quote';
  if (r.fields.length === 1 && r.fields[0]!.trim() === '') return 'empty_line';
  if (r.fields.length !== columnCount) return 'bad_field_count';
  return null;
}

/**
 * The well-shaped rows of a CSV table: counts every record in `report.rows`, skips (and counts by
 * reason) those {@link recordShapeProblem} rejects, and yields the rest with their text for
 * later skip messages.
 */
export function* tableRows(
  records: Iterable<CsvRecord>,
  columnCount: number,
  report: ReadReport,
): Generator<{ fields: string[]; line: number; raw: string }> {
  for (const record of records) {
    report.rows++;
    const raw = record.fields.join(',');
    const problem = recordShapeProblem(record, columnCount);
    if (problem) skipRow(report, problem, record.line, raw);
    else yield { fields: record.fields, line: record.line, raw };
  }
}
