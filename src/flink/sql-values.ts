import { AppError } from '../errors.js';

/*
 * Values from configuration placed into Flink SQL text (the job files' ${placeholders}, SET statements): inside
 * a quoted literal or identifier the quote is doubled, outside quotes only a number may stand, and a line break
 * or other control character is refused everywhere — so no setting can end a literal and add SQL of its own.
 */

/** Where a placeholder's value comes from: what to change when it is refused. */
const SOURCES: Readonly<Record<string, string>> = {
  'kafka.brokers': 'KAFKA_BROKERS (or ENGINE_KAFKA_BROKERS)',
  'topic.prefix': 'CDC_TOPIC_PREFIX',
  'jdbc.url': 'the host and database of DATABASE_FLINK_URL (or DATABASE_URL, or ENGINE_DB_ADDRESS)',
  'jdbc.user': 'the user of DATABASE_FLINK_URL (or DATABASE_URL)',
  'jdbc.password': 'the password of DATABASE_FLINK_URL (or DATABASE_URL)',
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;
const NUMBER = /^-?\d+(\.\d+)?$/;

/** What a refused value is called in a message: never the value itself (it may be a password). */
export type ValueName = { placeholder: string } | { describe: string; fix: string };

function refuse(name: ValueName, problem: string): never {
  const what = 'placeholder' in name ? `the value of \${${name.placeholder}}` : name.describe;
  const fix = 'placeholder' in name ? `change ${SOURCES[name.placeholder] ?? 'the setting it comes from'}` : name.fix;
  throw new AppError('BAD_USER_INPUT', `${what} ${problem}, so it cannot be placed in Flink SQL: ${fix}.`);
}

/** The text between the quotes of a Flink SQL literal or identifier quoted with `quote`: the quote doubled. */
export function quotedBody(value: string, name: ValueName, quote: "'" | '`' | '"' = "'"): string {
  if (CONTROL.test(value)) refuse(name, 'contains a line break or another control character');
  return value.replaceAll(quote, quote + quote);
}

/** A Flink SQL string literal holding `value`. */
export function stringLiteral(value: string, name: ValueName): string {
  return `'${quotedBody(value, name)}'`;
}

/** A value placed outside quotes: only a number. */
export function bareValue(value: string, name: ValueName): string {
  if (!NUMBER.test(value)) refuse(name, 'stands outside quotes in the job file and is not a number');
  return value;
}
