import { InvalidArgumentError } from 'commander';

/** A commander argument parser for whole numbers in a range; the message says what is allowed. */
export function intIn(min: number, max: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be from ${min} to ${max}.`);
    return n;
  };
}

/** A commander argument parser for decimal numbers in a range. */
export function numberIn(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number from ${min} to ${max}.`);
    if (n < min || n > max) throw new InvalidArgumentError(`must be from ${min} to ${max}.`);
    return n;
  };
}

export function isoDate(value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('expected an ISO date-time such as 2026-01-31T00:00:00Z.');
  return d;
}

/** A comma-separated list of names (letters, digits, - and _), without empties or repeats. */
export function nameList(value: string): string[] {
  const names = value.split(',').map((n) => n.trim());
  if (names.some((n) => !/^[\w-]+$/.test(n))) throw new InvalidArgumentError('expected comma-separated names such as ours,most-popular.');
  return [...new Set(names)];
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** A commander argument parser for durations such as 90s, 15m, 1h, 7d (or plain seconds), up to `maxSeconds`; returns seconds. */
export function duration(maxSeconds: number) {
  return (value: string): number => {
    const m = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
    if (!m) throw new InvalidArgumentError('expected a duration such as 90s, 15m, 1h or 7d.');
    const seconds = Number(m[1]) * UNIT_SECONDS[m[2] || 's']!;
    if (seconds < 1 || seconds > maxSeconds) throw new InvalidArgumentError(`must be from 1s to ${maxSeconds / 86400}d.`);
    return seconds;
  };
}

/**
 * A repeatable `--variant <name>:<recommender>[:<weight>]` (e.g. control:ours, b:random:2), collected in order.
 * The recommender and the name are checked by the experiment itself, with messages naming the variant.
 */
export function variantSpec(value: string, previous: { name: string; recommender: string; weight: number }[] = []) {
  const m = /^([^:]+):([^:]+)(?::([^:]+))?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected <name>:<recommender>[:<weight>], e.g. control:ours or b:random:2.');
  const weight = m[3] === undefined ? 1 : Number(m[3]);
  if (!Number.isFinite(weight) || weight <= 0) throw new InvalidArgumentError(`the weight of ${m[1]} must be a number above 0, got "${m[3]}".`);
  return [...previous, { name: m[1]!, recommender: m[2]!, weight }];
}

/** A repeatable `--params <variant>=<json object>`, collected into one map. */
export function variantParams(value: string, previous: Record<string, unknown> = {}) {
  const at = value.indexOf('=');
  if (at < 1) throw new InvalidArgumentError('expected <variant>=<json>, e.g. b={"weights":{"affinity":8}}.');
  const name = value.slice(0, at);
  let json: unknown;
  try {
    json = JSON.parse(value.slice(at + 1));
  } catch {
    throw new InvalidArgumentError(`the params of ${name} are not JSON: expected e.g. ${name}={"weights":{"affinity":8}}.`);
  }
  if (name in previous) throw new InvalidArgumentError(`--params ${name} is given twice.`);
  return { ...previous, [name]: json };
}
