/**
 * A streaming RFC 4180 CSV reader: comma-separated, fields optionally in double quotes ("" for a quote
 * inside), LF or CRLF line ends, newlines allowed inside quoted fields, a UTF-8 byte-order mark ignored.
 * A field longer than `maxFieldLength` characters stops the reading (an unclosed quote would otherwise hold
 * the rest of the file in memory as one field).
 */

/** The longest field the importer reads (characters): interaction logs hold ids, types, times and prices. */
export const MAX_FIELD_LENGTH = 64 * 1024;

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

/** A field over the size cap: where it starts (line, 1-based column) so the message can name its column. */
export class CsvFieldTooLargeError extends CsvSyntaxError {
  constructor(
    line: number,
    readonly column: number,
    readonly maxLength: number,
  ) {
    super(
      line,
      `a field longer than ${maxLength} characters; check that its quotes are closed (an unclosed " runs on to the end of the file) or shorten the field`,
    );
  }
}

/** Feed text chunks with `push`, then call `end`; each returns the records completed so far. */
export function createCsvReader(options: { maxFieldLength?: number } = {}) {
  const maxFieldLength = options.maxFieldLength ?? MAX_FIELD_LENGTH;
  let field = '';
  let fields: string[] = [];
  let inQuotes = false;
  /** The previous character closed a quoted field (or was the first quote of a "" pair). */
  let quoteClosed = false;
  let fieldStarted = false;
  let line = 1;
  let recordLine = 1;
  /** Line where the current field started (a quoted field may span lines). */
  let fieldLine = 1;
  let first = true;

  const tooLong = () => {
    if (field.length > maxFieldLength) throw new CsvFieldTooLargeError(fieldLine, fields.length + 1, maxFieldLength);
  };

  const endField = () => {
    fields.push(field);
    field = '';
    fieldStarted = false;
    quoteClosed = false;
  };

  /** A syntax error is raised on the call after the one that met it, so the records before it are returned first. */
  let failure: CsvSyntaxError | undefined;

  function push(chunk: string): CsvRecord[] {
    if (failure) throw failure;
    const out: CsvRecord[] = [];
    try {
      scan(chunk, out);
    } catch (error) {
      if (!(error instanceof CsvSyntaxError)) throw error;
      failure = error;
    }
    return out;
  }

  function scan(chunk: string, out: CsvRecord[]): void {
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
          tooLong();
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
          fieldLine = line;
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
        if (!fieldStarted) fieldLine = line;
        field += ch;
        fieldStarted = true;
        tooLong();
      }
    }
  }

  function end(): CsvRecord[] {
    if (failure) throw failure;
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
