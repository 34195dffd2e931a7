import { AppError } from '../errors.js';
import { INTERACTION_TYPES, type InteractionType } from '../recommend/evaluation/split.js';

/**
 * How the columns of an interaction log map to what the importer understands: `--map` (columns), `--types`
 * (event type values) and the timestamp formats it reads.
 */

/** The fields a CSV column can be mapped to; the first four are required. */
export const MAPPING_FIELDS = ['user', 'item', 'type', 'timestamp', 'price', 'category', 'name', 'quantity', 'basket', 'session'] as const;
export type MappingField = (typeof MAPPING_FIELDS)[number];
export const REQUIRED_FIELDS = ['user', 'item', 'type', 'timestamp'] as const satisfies readonly MappingField[];
export type ColumnMapping = Partial<Record<MappingField, string>> & Record<(typeof REQUIRED_FIELDS)[number], string>;

/** A type value of the log becomes one of the interaction types, or is skipped. */
export type TypeTarget = InteractionType | 'skip';
export const TYPE_TARGETS: readonly TypeTarget[] = [...INTERACTION_TYPES, 'skip'];
/** Accepted without a --types entry: the interaction types themselves, and the shop's own name for a purchase. */
const DEFAULT_TYPES: Record<string, TypeTarget> = { ...Object.fromEntries(INTERACTION_TYPES.map((t) => [t, t])), place_order: 'purchase' };

export const MAP_EXAMPLE = 'user=visitorid,item=itemid,type=event,timestamp=timestamp';

const badInput = (message: string) => new AppError('BAD_USER_INPUT', message);

function parsePairs(text: string, option: string, example: string): [string, string][] {
  const pairs = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (pairs.length === 0) throw badInput(`${option} is empty: pass name=value pairs, e.g. ${option} ${example}.`);
  return pairs.map((pair) => {
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1) throw badInput(`${option}: "${pair}" is not a name=value pair, e.g. ${option} ${example}.`);
    return [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
  });
}

/** Parses `user=<col>,item=<col>,type=<col>,timestamp=<col>[,price=<col>,category=<col>,...]`. */
export function parseColumnMapping(text: string): ColumnMapping {
  const mapping: Partial<Record<MappingField, string>> = {};
  for (const [field, column] of parsePairs(text, '--map', MAP_EXAMPLE)) {
    if (!(MAPPING_FIELDS as readonly string[]).includes(field)) {
      throw badInput(`--map: unknown field "${field}"; the fields are ${MAPPING_FIELDS.join(', ')} (the first four required).`);
    }
    if (mapping[field as MappingField]) throw badInput(`--map: field "${field}" is mapped twice.`);
    mapping[field as MappingField] = column;
  }
  const missing = REQUIRED_FIELDS.filter((f) => !mapping[f]);
  if (missing.length)
    throw badInput(`--map: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not mapped; map every required field, e.g. --map ${MAP_EXAMPLE}.`);
  return mapping as ColumnMapping;
}

/** Parses `view=view_product,addtocart=add_to_cart,transaction=purchase,remove=skip` on top of the defaults. */
export function parseTypeMapping(text: string | undefined): Record<string, TypeTarget> {
  const types = { ...DEFAULT_TYPES };
  if (text === undefined) return types;
  for (const [value, target] of parsePairs(text, '--types', 'view=view_product,addtocart=add_to_cart,transaction=purchase')) {
    if (!(TYPE_TARGETS as readonly string[]).includes(target))
      throw badInput(`--types: "${target}" (for "${value}") is not a type; use one of ${TYPE_TARGETS.join(', ')}.`);
    types[value] = target as TypeTarget;
  }
  return types;
}

/**
 * Reads a timestamp: ISO 8601 (a date alone is midnight UTC; no zone means UTC), or Unix epoch seconds, or
 * epoch milliseconds (13 digits or more).
 */
export function parseTimestamp(text: string): Date | null {
  const t = text.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    ms = t.split('.')[0]!.length >= 12 ? n : n * 1000;
  } else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    const iso = t.replace(' ', 'T');
    ms = Date.parse(/T/.test(iso) && !/(Z|[+-]\d{2}:?\d{2})$/.test(iso) ? `${iso}Z` : iso);
  } else {
    return null;
  }
  const d = new Date(Math.round(ms));
  const year = d.getUTCFullYear();
  return Number.isNaN(d.getTime()) || year < 1970 || year > 9999 ? null : d;
}

/** Resolved positions of the mapped columns in the header. */
export type ColumnIndex = Partial<Record<MappingField, number>>;

/** Finds each mapped column in the header; a missing or repeated column is a user mistake that names the fix. */
export function indexColumns(header: string[], mapping: ColumnMapping, file: string): ColumnIndex {
  const index: ColumnIndex = {};
  for (const field of MAPPING_FIELDS) {
    const column = mapping[field];
    if (column === undefined) continue;
    const positions = header.flatMap((h, i) => (h.trim() === column ? [i] : []));
    if (positions.length === 0)
      throw badInput(
        `${file}: column "${column}" (mapped to ${field}) is not in the header; the columns are ${header.map((h) => `"${h}"`).join(', ')}. Fix --map.`,
      );
    if (positions.length > 1)
      throw badInput(`${file}: column "${column}" (mapped to ${field}) appears ${positions.length} times in the header; rename one of them.`);
    index[field] = positions[0];
  }
  return index;
}

/** The longest user, item, category, basket or session key a log may use. */
export const MAX_KEY_LENGTH = 200;

/** The fields every row needs, checked; plus accessors for the row's other mapped columns. */
export interface CheckedCore {
  type: InteractionType;
  user: string;
  item: string;
  at: Date;
  /** The trimmed value of a mapped column (undefined when the field is not mapped). */
  value(field: MappingField): string | undefined;
  /** "line N, column "c" (field)": where an error message points. */
  where(field: MappingField): string;
}

/**
 * The checks every importer makes of a row: the field count, the event type (mapped or skipped), non-empty
 * bounded user and item keys, a readable timestamp. Each problem names the line and column.
 */
export function checkCore(
  record: { line: number; fields: string[] },
  header: string[],
  index: ColumnIndex,
  mapping: ColumnMapping,
  types: Record<string, TypeTarget>,
): CheckedCore | { skip: true } | { error: string } {
  if (record.fields.length !== header.length) return { error: `line ${record.line}: ${record.fields.length} fields where the header has ${header.length}` };
  const value = (field: MappingField) => (index[field] === undefined ? undefined : record.fields[index[field]!]!.trim());
  const where = (field: MappingField) => `line ${record.line}, column "${mapping[field]}" (${field})`;
  const typeText = value('type')!;
  const type = types[typeText];
  if (!type) return { error: `${where('type')}: unknown event type "${typeText}"; map it with --types ${typeText || '<value>'}=${TYPE_TARGETS.join('|')}` };
  if (type === 'skip') return { skip: true };
  for (const field of ['user', 'item'] as const) {
    const v = value(field)!;
    if (v === '') return { error: `${where(field)}: empty` };
    if (v.length > MAX_KEY_LENGTH) return { error: `${where(field)}: longer than ${MAX_KEY_LENGTH} characters` };
  }
  const at = parseTimestamp(value('timestamp')!);
  if (!at) {
    return {
      error: `${where('timestamp')}: cannot read "${value('timestamp')}" as a time; use ISO 8601 (2026-01-31T12:00:00Z) or Unix epoch seconds or milliseconds`,
    };
  }
  return { type, user: value('user')!, item: value('item')!, at, value, where };
}
