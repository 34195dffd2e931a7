import cliProgress from 'cli-progress';
import type { ResetReport } from '../app/reset.js';

/** Writes command results to stdout (data) — logs and progress go to stderr. */
export function print(text = ''): void {
  process.stdout.write(`${text}\n`);
}

export function printTable(rows: Record<string, string | number>[], columns?: string[]): void {
  if (rows.length === 0) return print('(none)');
  const cols = columns ?? Object.keys(rows[0]!);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('  ');
  print(line(cols));
  print(width.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) print(line(cols.map((c) => String(r[c] ?? ''))));
}

/** A progress bar on stderr; on a non-terminal it prints a line every few seconds instead. */
export function progressBar(label: string, total: number) {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} {unit} | {info}`,
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 3000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { unit: '', info: '' });
  return {
    update(value: number, unit: string, info = '') {
      bar.update(value, { unit, info });
    },
    stop() {
      bar.stop();
    },
  };
}

/** Prints what a reset deleted, per table, and what it did to the topics and the Flink jobs (or all of it as JSON). */
export function printReset(report: ResetReport, json: boolean | undefined, title: string): void {
  if (json) return print(JSON.stringify(report));
  print(title);
  printTable(Object.entries(report.deleted).map(([table, rows]) => ({ table, rows })));
  if (report.topics.length) print(`Kafka: ${report.topics.length} topic partitions now start after the reset (older records deleted).`);
  if (report.restartedJobs.length) print(`Flink: ${report.restartedJobs.join(', ')} restarted from a fresh state.`);
}
