import { type DocumentNode, GraphQLError, Kind, type ValueNode, visit } from 'graphql';
import type { Plugin } from 'graphql-yoga';

function intValue(node: ValueNode, variables: Record<string, unknown> | undefined): number | undefined {
  if (node.kind === Kind.INT) return Number(node.value);
  if (node.kind === Kind.VARIABLE) {
    const value = variables?.[node.name.value];
    return typeof value === 'number' ? value : undefined;
  }
  return undefined;
}

/** The `first`/`last` arguments anywhere in the operation that ask for more than `max` items. */
export function oversizedPages(document: DocumentNode, variables: Record<string, unknown> | undefined, max: number): string[] {
  const found: string[] = [];
  visit(document, {
    Field(field) {
      for (const arg of field.arguments ?? []) {
        if (arg.name.value !== 'first' && arg.name.value !== 'last') continue;
        const value = intValue(arg.value, variables);
        if (value !== undefined && (value > max || value < 0)) found.push(`${field.name.value}(${arg.name.value}: ${value})`);
      }
    },
  });
  return found;
}

/**
 * Rejects pages larger than `max` (or negative) with a typed error instead of silently clamping them,
 * on every connection in the operation, nested ones included.
 */
export function usePageSizeLimit(max: number): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const bad = oversizedPages(args.document, args.variableValues ?? undefined, max);
      if (bad.length) {
        setResultAndStopExecution({
          errors: [
            new GraphQLError(`Page size must be between 0 and ${max}: ${bad.join(', ')}. Paginate with first/after instead.`, {
              extensions: { code: 'BAD_USER_INPUT' },
            }),
          ],
        });
      }
    },
  };
}
