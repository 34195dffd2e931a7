/**
 * A streaming RFC 4180 CSV reader: comma-separated, fields optionally in double quotes ("" for a quote
 * inside), LF or CRLF line ends, newlines allowed inside quoted fields, a UTF-8 byte-order mark ignored.
 */

export interface CsvRecord {
  /** 1-based line of the file where the record starts (the header is line 1). */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/** Feed text chunks with `push`, then call `end`; each returns the records completed so far. */
export function createCsvReader() {
  let field = '';
  let fields: string[] = [];
  let inQuotes = false;
  /** The previous character closed a quoted field (or was the first quote of a "" pair). */
  let quoteClosed = false;
  let fieldStarted = false;
  let line = 1;
  let recordLine = 1;
  let first = true;

  const endField = () => {
    fields.push(field);
    field = '';
    fieldStarted = false;
    quoteClosed = false;
  };

  function push(chunk: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    if (first && chunk.length > 0) {
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
    }
    for (let p = 0; p < chunk.length; p++) {
      const ch = chunk[p]!;
      if (inQuotes) {
        if (ch === '"') {
          inQuotes = false;
          quoteClosed = true;
        } else {
          if (ch === '\n') line++;
          field += ch;
        }
        continue;
      }
      if (ch === '"') {
        if (quoteClosed) {
          // "" inside a quoted field: a literal quote, and the field continues quoted.
          field += '"';
          inQuotes = true;
          quoteClosed = false;
        } else if (!fieldStarted) {
          inQuotes = true;
          fieldStarted = true;
        } else {
          throw new CsvSyntaxError(line, 'a double quote inside an unquoted field; quote the whole field and double the quote ("")');
        }
      } else if (ch === ',') {
        endField();
      } else if (ch === '\n' || ch === '\r') {
        if (ch === '\r' && chunk[p + 1] !== '\n' && p + 1 < chunk.length) throw new CsvSyntaxError(line, 'a carriage return that does not end a line');
        if (ch === '\r') continue;
        endField();
        if (!(fields.length === 1 && fields[0] === '')) out.push({ line: recordLine, fields });
        fields = [];
        line++;
        recordLine = line;
      } else {
        if (quoteClosed) throw new CsvSyntaxError(line, 'text after the closing quote of a field');
        field += ch;
        fieldStarted = true;
      }
    }
    return out;
  }

  function end(): CsvRecord[] {
    if (inQuotes) throw new CsvSyntaxError(recordLine, 'a quoted field is not closed before the end of the file');
    if (fieldStarted || fields.length > 0 || quoteClosed) {
      endField();
      const record = { line: recordLine, fields };
      fields = [];
      return [record];
    }
    return [];
  }

  return { push, end };
}
