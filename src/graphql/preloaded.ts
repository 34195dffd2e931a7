import { defaultFieldResolver, type FieldNode, type GraphQLField, type GraphQLSchema, getNamedType, isObjectType } from 'graphql';
import { RESOURCES } from '../api/resources.js';
import { getDatamodel } from '../generated/prisma/pothos-types.js';

/*
 * A to-one relation of an entity row is usually in the row already: the entity reader loads it with every
 * scalar column, as the `include` plugin-prisma planned from the whole operation asked
 * (src/database/entity-reader.ts). Asking plugin-prisma for it anyway costs a loader-mapping lookup per row (the
 * response path of every row's field built and matched). So when the relation's selection reads only scalars and
 * the loaded object has every one of them, the field answers from the row. Anything else — nested relations
 * (plugin-prisma records their mappings on the way down), fragments, a relation the row does not hold (a
 * subscription's change image) or holds only in part — goes to plugin-prisma's resolver as before.
 */

type DmmfField = { name: string; kind: string; type: string; isList: boolean };
const models = getDatamodel().datamodel.models as unknown as Record<string, { fields: DmmfField[] }>;

/** The scalars a relation's selection reads, or null when it reads more than scalars; by the executor's shared field-node list. */
const selected = new WeakMap<readonly FieldNode[], string[] | null>();

function selectedScalars(fieldNodes: readonly FieldNode[], scalars: ReadonlySet<string>): string[] | null {
  let names = selected.get(fieldNodes);
  if (names === undefined) {
    const fields = fieldNodes.flatMap((node) => node.selectionSet?.selections ?? []);
    names = fields.every((s) => s.kind === 'Field' && (s.name.value === '__typename' || scalars.has(s.name.value)))
      ? [...new Set(fields.map((s) => (s as FieldNode).name.value).filter((n) => n !== '__typename'))]
      : null;
    selected.set(fieldNodes, names);
  }
  return names;
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
        const value = (row as Record<string, unknown>)[name];
        if (value !== undefined) {
          const names = selectedScalars(info.fieldNodes, scalars);
          if (names && (value === null || names.every((n) => n in (value as object)))) return value;
        }
        return resolve(row, args, ctx, info);
      };
    }
  }
  return schema;
}
