import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * The module boundaries the architecture promises, checked on the source: which folder may import which,
 * what the CLI loads before a command runs, and that the served recommender is made in one place.
 */

const root = resolve(import.meta.dirname, '../..');
const rel = (file: string) => relative(root, file);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'generated' || name === 'node_modules') return [];
    return statSync(path).isDirectory() ? filesUnder(path) : /\.ts$/.test(name) ? [path] : [];
  });
}

/** Static, value-level imports of a file: relative ones resolved to files, bare ones as package names. */
function importsOf(file: string): { local: string[]; packages: string[] } {
  const text = readFileSync(file, 'utf8');
  const local: string[] = [];
  const packages: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?'([^']+)'/gm)) {
    const spec = m[1]!;
    if (spec.startsWith('.')) local.push(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
    else packages.push(spec);
  }
  return { local, packages };
}

/** Every file (and package) loaded, transitively, by importing `entry` — before any dynamic import runs. */
function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const { local, packages: bare } = importsOf(file);
    for (const p of bare) packages.add(p);
    for (const l of local) visit(l);
  };
  visit(entry);
  return { files, packages };
}

const src = filesUnder(join(root, 'src'));
const importersOf = (folder: string, target: string) =>
  src.filter((f) => rel(f).startsWith(`src/${folder}/`)).filter((f) => importsOf(f).local.some((l) => rel(l).startsWith(`src/${target}/`)));

describe('module boundaries', () => {
  it('the CLI loads no command module, GraphQL schema, Kafka or Flink client before a command runs', () => {
    const { files, packages } = closure(join(root, 'src/cli/main.ts'));
    const heavy = [...files]
      .map(rel)
      .filter((f) => /^src\/(cli\/commands|graphql|server|kafka|flink|recommend|stack|database)\//.test(f))
      // Plain constants for --help texts: no code behind them.
      .filter((f) => f !== 'src/recommend/models/defaults.ts');
    expect(heavy).toEqual([]);
    expect([...packages].filter((p) => ['graphql', 'graphql-yoga', 'kafkajs', 'pg', '@faker-js/faker', '@prisma/client'].includes(p))).toEqual([]);
  });

  it('`rtrec db url` loads the database code and not the GraphQL schema', () => {
    const { files, packages } = closure(join(root, 'src/cli/commands/db.ts'));
    expect([...files].map(rel).filter((f) => /^src\/(graphql|server|kafka|flink)\//.test(f))).toEqual([]);
    expect(packages.has('graphql')).toBe(false);
  });

  it('commands do not import each other', () => {
    const commands = src.filter((f) => rel(f).startsWith('src/cli/commands/'));
    const crossing = commands.flatMap((f) =>
      importsOf(f)
        .local.filter((l) => rel(l).startsWith('src/cli/commands/'))
        .map((l) => `${rel(f)} → ${rel(l)}`),
    );
    expect(crossing).toEqual([]);
  });

  it('recommend/ imports nothing of the simulator, database/ nothing of the stack, cdc/ nothing of Flink results', () => {
    expect(importersOf('recommend', 'simulator').map(rel)).toEqual([]);
    expect(importersOf('database', 'stack').map(rel)).toEqual([]);
    expect(importersOf('cdc', 'flink').map(rel)).toEqual([]);
    expect(importersOf('flink', 'stack').map(rel)).toEqual([]);
  });

  it('the served recommender and the runtime services are made only by the composition root', () => {
    const everywhere = [...src, ...filesUnder(join(root, 'tests')), ...filesUnder(join(root, 'bench'))].filter((f) => !f.endsWith('structure.test.ts'));
    for (const factory of [
      'createRecommender',
      'createLiveRecommendations',
      'createSimulationService',
      'createChangePubSub',
      'createCdcBridge',
      'createJobManager',
      'createTokenService',
    ]) {
      const callers = everywhere.filter((f) => new RegExp(`\\b${factory}\\(`).test(readFileSync(f, 'utf8').replace(/export function \w+\(/g, '')));
      expect(callers.map(rel), factory).toEqual(['src/app/context.ts']);
    }
  });
});
