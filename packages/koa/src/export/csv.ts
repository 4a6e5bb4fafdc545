/** CSV (RFC 4180) cells and rows for the file export (SPEC §8.2). */

/**
 * One cell: strings as they are, numbers and booleans as text, objects and arrays as JSON text,
 * absent as empty; quoted (with `"` doubled) when it holds a comma, a quote, CR, LF or starts or
 * ends with a space.
 */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text =
    typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]|^ | $/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV line (CRLF-terminated) of the given columns of `row`. */
export function csvRow(columns: readonly string[], row: Readonly<Record<string, unknown>>): string {
  return `${columns.map((c) => csvCell(row[c])).join(',')}\r\n`;
}

/** The header line. */
export function csvHeader(columns: readonly string[]): string {
  return `${columns.map(csvCell).join(',')}\r\n`;
}
