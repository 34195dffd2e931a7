import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../paths.js';

/** The checked-in folder that pins the JVM engines: manifest, one pom per artifact set, log4j2 files. */
export const stackHome = join(projectRoot, 'stack');

const artifactSetSchema = z.object({
  version: z.string().min(1),
  pom: z.string().min(1),
  description: z.string(),
});

const manifestSchema = z.object({
  mavenDependencyPlugin: z.string().regex(/^[\w.-]+:[\w.-]+:[\w.-]+$/),
  artifacts: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), artifactSetSchema),
});

/** One set of jars resolved together from a pom: a classpath, or a Connect plugin directory. */
export interface ArtifactSet {
  name: string;
  version: string;
  /** Absolute path of the checked-in pom that pins the set. */
  pom: string;
  description: string;
}

export interface StackManifest {
  /** groupId:artifactId:version of the Maven plugin that copies the jars (pinned, so Maven never picks one). */
  mavenDependencyPlugin: string;
  artifacts: Record<string, ArtifactSet>;
}

/** Reads and validates `stack/engines.json`; a broken manifest is a bug in the checkout, so it throws plainly. */
export function loadManifest(home = stackHome): StackManifest {
  const raw = manifestSchema.parse(JSON.parse(readFileSync(join(home, 'engines.json'), 'utf8')));
  const artifacts = Object.fromEntries(
    Object.entries(raw.artifacts).map(([name, set]) => [name, { name, version: set.version, pom: join(home, set.pom), description: set.description }]),
  );
  return { mavenDependencyPlugin: raw.mavenDependencyPlugin, artifacts };
}

/** Looks up an artifact set by name; engines name their sets in code, so a miss is a programming error. */
export function artifactSet(manifest: StackManifest, name: string): ArtifactSet {
  const set = manifest.artifacts[name];
  if (!set) throw new Error(`stack/engines.json has no artifact set "${name}"`);
  return set;
}
