import { defaultFieldResolver, type FieldNode, type GraphQLField, type GraphQLSchema, getNamedType, isObjectType } from 'graphql';
import { RESOURCES } from '../api/resources.js';
import { isReaderRow } from '../database/entity-reader.js';
import { getDatamodel } from '../generated/prisma/pothos-types.js';

/*
 * A to-one relation of an entity row read by the entity reader is already in the row: the `include` plugin-prisma
 * planned from the whole operation loaded it with every scalar column (src/database/entity-reader.ts). Asking
 * plugin-prisma for it anyway costs a loader-mapping lookup per row (the response path of every row's field
 * built and matched: ~9% of the server's time for a 20-row list with customers). So when the relation's own
 * selection reads only scalars, the field answers from the row; anything else (nested relations, whose
 * mappings plugin-prisma records on the way down; fragments; rows that did not come from the reader, such as
 * subscription change images) goes to plugin-prisma's resolver as before.
 */

type DmmfField = { name: string; kind: string; type: string; isList: boolean };
const models = getDatamodel().datamodel.models as unknown as Record<string, { fields: DmmfField[] }>;

/** Whether every selection of the field is a plain field of `scalars` (or __typename), by the executor's shared field-node list. */
const scalarOnly = new WeakMap<readonly FieldNode[], boolean>();

function selectsOnlyScalars(fieldNodes: readonly FieldNode[], scalars: ReadonlySet<string>): boolean {
  let known = scalarOnly.get(fieldNodes);
  if (known === undefined) {
    known = fieldNodes.every((node) =>
      (node.selectionSet?.selections ?? []).every((s) => s.kind === 'Field' && (s.name.value === '__typename' || scalars.has(s.name.value))),
    );
    scalarOnly.set(fieldNodes, known);
  }
  return known;
}

/** Wraps the to-one relation fields of the entity types (in place) and returns the schema; apply before the policy wraps them. */
export function answerPreloadedRelations(schema: GraphQLSchema): GraphQLSchema {
  for (const { model } of RESOURCES) {
    const type = schema.getType(model);
    if (!isObjectType(type)) continue;
    for (const relation of models[model]!.fields.filter((f) => f.kind === 'object' && !f.isList)) {
      const field = type.getFields()[relation.name] as GraphQLField<unknown, unknown> | undefined;
      if (!field || getNamedType(field.type).name !== relation.type) continue;
      const scalars = new Set(models[relation.type]!.fields.filter((f) => f.kind !== 'object').map((f) => f.name));
      const resolve = field.resolve ?? defaultFieldResolver;
      const name = relation.name;
      field.resolve = (row, args, ctx, info) => {
        if (isReaderRow(row)) {
          const value = (row as Record<string, unknown>)[name];
          if (value !== undefined && selectsOnlyScalars(info.fieldNodes, scalars)) return value;
        }
        return resolve(row, args, ctx, info);
      };
    }
  }
  return schema;
}
