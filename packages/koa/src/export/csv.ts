/** CSV (RFC 4180) cells and rows for the file export (docs/spec.md §8.2). */

/** First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One cell: strings as they are, numbers and booleans as text, objects and arrays as JSON text,
 * absent as empty; quoted (with `"` doubled) when it holds a comma, a quote, CR, LF or starts or
 * ends with a space.
 *
 * A string starting with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with a single quote
 * and quoted, as OWASP recommends against formula injection (a spreadsheet opening the file shows
 * the text instead of running it). Numbers are written as they are (`-5` stays a number); the
 * JSON and JSON-lines exports are never altered.
 */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  let text =
    typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  const formula = typeof value === 'string' && FORMULA_START.test(text);
  if (formula) text = `'${text}`;
  return formula || /[",\r\n]|^ | $/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV line (CRLF-terminated) of the given columns of `row`. */
export function csvRow(columns: readonly string[], row: Readonly<Record<string, unknown>>): string {
  return `${columns.map((c) => csvCell(row[c])).join(',')}\r\n`;
}

/** The header line. */
export function csvHeader(columns: readonly string[]): string {
  return `${columns.map(csvCell).join(',')}\r\n`;
}
