/**
 * The soak with faults (not a timed test): a steady live simulation on the whole stack while one component at a
 * time is killed with SIGKILL and restarted, then a reconciliation of everything against PostgreSQL.
 *
 *   npm run soak -- --minutes 10 --rate 200 --faults kafka,connect,flink-taskmanager,flink-jobmanager,api,postgres [--json]
 *
 * It needs the ports of a stack of its own (the defaults, or KAFKA_PORT, CONNECT_PORT, FLINK_PORT,
 * FLINK_SQL_GATEWAY_PORT, FLINK_RPC_PORT, EMBEDDED_PG_PORT): stop a running demo first. Its data folder is
 * a fresh temporary one (removed at the end unless --keep-data). Exit code 0 only when nothing was lost or
 * double-counted, every aggregate matched, every restart recovered and nothing was left running.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { intIn, numberIn } from '../src/cli/options.js';
import { FAULT_COMPONENTS, type FaultComponent, parseFaultList } from '../src/soak/faults.js';
import { runSoak, type SoakReport } from '../src/soak/soak.js';

function faultListOption(value: string): FaultComponent[] {
  try {
    return parseFaultList(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

const program = new Command('soak')
  .description('Steady live load on the whole stack with kill -9 faults, then reconciliation against PostgreSQL')
  .addOption(new Option('--minutes <m>', 'how long the load runs').argParser(numberIn(0.5, 24 * 60)).default(10))
  .addOption(new Option('--rate <r>', 'target committed changes per second').argParser(numberIn(1, 100_000)).default(200))
  .addOption(
    new Option('--faults <list>', `components to kill, comma-separated (${FAULT_COMPONENTS.join(', ')}), or none`)
      .argParser(faultListOption)
      .default([...FAULT_COMPONENTS], 'all'),
  )
  .addOption(new Option('--interval <s>', 'seconds from one kill to the next (the next also waits for recovery)').argParser(intIn(5, 3600)).default(45))
  .addOption(new Option('--down <s>', 'seconds a killed component stays down').argParser(intIn(0, 600)).default(5))
  .addOption(new Option('--concurrency <n>', 'concurrent shopping sessions').argParser(intIn(1, 64)).default(8))
  .addOption(new Option('--seed <n>', 'seed of the simulation and of the fault order').argParser(intIn(0, 2 ** 31 - 1)).default(1))
  .option('--data-dir <dir>', 'data folder of the soak stack (default: a fresh temporary folder)')
  .option('--keep-data', 'keep the data folder (engine logs, API log) for a post-mortem')
  .option('--json', 'print one JSON object instead of the table')
  .showHelpAfterError('(npm run soak -- --help lists the options)');

program.parse();
const options = program.opts<{
  minutes: number;
  rate: number;
  faults: FaultComponent[];
  interval: number;
  down: number;
  concurrency: number;
  seed: number;
  dataDir?: string;
  keepData?: boolean;
  json?: boolean;
}>();

const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'rtrec-soak-'));
const say = (text: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);
let report: SoakReport;
try {
  report = await runSoak({
    minutes: options.minutes,
    rate: options.rate,
    faults: options.faults,
    intervalSeconds: options.interval,
    downSeconds: options.down,
    concurrency: options.concurrency,
    seed: options.seed,
    dataDir,
    onProgress: say,
  });
} catch (error) {
  process.stderr.write(`soak failed: ${(error as Error).stack ?? error}\n(data folder: ${dataDir}${options.keepData ? '' : ', removed'})\n`);
  if (!options.keepData && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  process.exit(2);
}
if (!options.keepData && !options.dataDir) rmSync(dataDir, { recursive: true, force: true });

if (options.json) console.log(JSON.stringify(report));
else {
  const line = (label: string, value: unknown) => console.log(`${label.padEnd(34)} ${value}`);
  line('load', `${report.minutes} min, target ${report.targetRate} changes/s, reached ${report.changesPerSecond} changes/s`);
  line('faults injected', report.faultsInjected);
  for (const f of report.faults)
    line(
      `  ${f.at.toFixed(0).padStart(5)} s ${f.component}`,
      `${f.recoverySeconds === null ? 'did NOT recover' : `full flow after ${f.recoverySeconds.toFixed(1)} s`} (up ${f.phases.started} s, healed ${f.phases.healed} s, API ${f.phases.api ?? '–'} s, Flink ${f.phases.flink ?? '–'} s)${f.healed.length ? `; ${f.healed.join('; ')}` : ''}`,
    );
  line('(a) changes checked PG → Kafka', `${report.changesChecked}, missing from Kafka ${report.lostInKafka}`);
  line('    redelivered by Debezium', report.redelivered);
  for (const s of report.subscribers)
    line(
      `(c) subscriber ${s.table}`,
      `${s.checked} records, lost ${s.lost}, duplicated ${s.duplicated}, reconnects ${s.reconnects}${s.errors.length ? `, errors ${s.errors.join(',')}` : ''}`,
    );
  for (const [name, a] of Object.entries(report.aggregates))
    line(`(b) ${name}`, `${a.checked} checked, ${a.mismatched} mismatched${a.examples.length ? `: ${a.examples.join(' | ')}` : ''}`);
  line('(d) left over', report.leftOver.length ? report.leftOver.join(', ') : 'nothing');
  line('lost / duplicated / mismatched', `${report.lost} / ${report.duplicated} / ${report.mismatchedAggregates}`);
  if (report.lostExamples.length) line('lost changes, e.g.', report.lostExamples.join(', '));
  line('writer rounds failed (faults)', report.writerErrors);
  line('result', report.ok ? 'OK' : 'FAILED');
}
process.exit(report.ok ? 0 : 1);
