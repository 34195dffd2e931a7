import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from '../src/graphql/schema/index.js';
import { projectRoot } from '../src/paths.js';

/** Prints the SDL to schema/schema.graphql (committed; a test fails when it is stale). */
const sdl = `${printSchema(lexicographicSortSchema(schema))}\n`;
writeFileSync(join(projectRoot, 'schema', 'schema.graphql'), sdl);
process.stdout.write(`wrote schema/schema.graphql (${sdl.split('\n').length} lines)\n`);
