import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../common/process.js';
import type { Stack } from '../stack/stack.js';
import type { ApiProcess } from './api-process.js';

/** What the soak can kill: the engines of the stack and the API. */
export const FAULT_COMPONENTS = ['kafka', 'connect', 'flink-taskmanager', 'flink-jobmanager', 'api', 'postgres'] as const;
export type FaultComponent = (typeof FAULT_COMPONENTS)[number];

export function isFaultComponent(name: string): name is FaultComponent {
  return (FAULT_COMPONENTS as readonly string[]).includes(name);
}

/** `--faults a,b,c` (or `none`): the components, each once; an unknown name is an error that lists the known ones. */
export function parseFaultList(value: string): FaultComponent[] {
  if (value.trim() === 'none') return [];
  const names = [...new Set(value.split(',').map((n) => n.trim()))];
  const unknown = names.filter((n) => !isFaultComponent(n));
  if (unknown.length > 0)
    throw new Error(`unknown component ${unknown.map((n) => `'${n}'`).join(', ')}: choose from ${FAULT_COMPONENTS.join(', ')} (comma-separated), or none.`);
  return names as FaultComponent[];
}

/** Direct children of `pid` (PostgreSQL's backends and workers under its postmaster). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/**
 * kill -9 of a component: the JVM of an engine, the API process, or the whole PostgreSQL server (the postmaster
 * and every backend at once, as a machine crash would: a postmaster killed alone leaves backends attached to
 * its shared memory, and no new server starts until they are gone). Resolves once every process is gone.
 */
export async function killComponent(component: FaultComponent, stack: Stack, api: ApiProcess): Promise<number[]> {
  if (component === 'api') {
    const pid = api.pid;
    await api.kill();
    return pid === undefined ? [] : [pid];
  }
  const status = (await stack.status()).find((s) => s.engine === component);
  if (!status?.pid || !status.running) throw new Error(`${component} is not running: nothing to kill`);
  const pids = component === 'postgres' ? [status.pid, ...childrenOf(status.pid)] : [status.pid];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 15_000;
  while (pids.some(isAlive)) {
    if (Date.now() > deadline) throw new Error(`${component} (pids ${pids.filter(isAlive).join(', ')}) survived SIGKILL`);
    await sleep(50);
  }
  return pids;
}

/** Starts a killed component again: `rtrec stack up <engine>`, or the API process. */
export async function restartComponent(component: FaultComponent, stack: Stack, api: ApiProcess): Promise<void> {
  if (component === 'api') return api.start();
  await stack.up({ engines: [component] });
}

/**
 * Fault order: every component once in a seeded random order, then again in a new order, and so on, so that
 * each is hit at least once whenever there are as many cycles as components.
 */
export function faultSequence(components: readonly FaultComponent[], random: () => number): () => FaultComponent {
  let bag: FaultComponent[] = [];
  return () => {
    if (bag.length === 0) {
      bag = [...components];
      for (let i = bag.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [bag[i], bag[j]] = [bag[j]!, bag[i]!];
      }
    }
    return bag.shift()!;
  };
}
