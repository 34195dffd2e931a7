import { DEFAULT_PAGE_SIZE, type FilterType, HIDDEN_FIELDS, HIDDEN_MODELS, MAX_PAGE_SIZE, RESOURCES } from '../api/resources.js';
import * as Enums from '../generated/prisma/enums.js';
import { getDatamodel } from '../generated/prisma/pothos-types.js';

type DmmfField = { name: string; kind: string; type: string; isRequired: boolean; isList: boolean };
const models = getDatamodel().datamodel.models as unknown as Record<string, { fields: DmmfField[] }>;

/** Public scalar columns of a model, as REST returns them. */
export function publicScalarFields(model: string): DmmfField[] {
  const hidden = new Set(HIDDEN_FIELDS[model] ?? []);
  return models[model]!.fields.filter((f) => f.kind !== 'object' && !hidden.has(f.name) && !HIDDEN_MODELS.has(f.type));
}

function enumValues(type: string): string[] | undefined {
  const e = (Enums as Record<string, unknown>)[type];
  return e && typeof e === 'object' ? Object.values(e as Record<string, string>) : undefined;
}

function schemaOf(type: string, isList = false): Record<string, unknown> {
  const base: Record<string, unknown> =
    type === 'Int'
      ? { type: 'integer' }
      : type === 'Float'
        ? { type: 'number' }
        : type === 'Boolean'
          ? { type: 'boolean' }
          : type === 'DateTime'
            ? { type: 'string', format: 'date-time' }
            : type === 'Decimal'
              ? { type: 'string', pattern: '^-?\\d+(\\.\\d{1,2})?$', example: '19.99' }
              : type === 'BigInt'
                ? { type: 'string', pattern: '^\\d+$' }
                : type === 'Json'
                  ? { type: 'object' }
                  : enumValues(type)
                    ? { type: 'string', enum: enumValues(type) }
                    : { type: 'string' };
  return isList ? { type: 'array', items: base } : base;
}

/** The OpenAPI 3 document for the REST endpoints, derived from the same resource list as GraphQL. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {
    '/': { get: { summary: 'API information', responses: { 200: { description: 'Name, version and links' } } } },
    '/health': {
      get: { summary: 'Health check (queries the database)', responses: { 200: { description: 'Healthy' }, 503: { description: 'Database unreachable' } } },
    },
  };
  const schemas: Record<string, unknown> = {
    Error: { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } } },
    Pagination: {
      type: 'object',
      properties: { limit: { type: 'integer' }, offset: { type: 'integer' }, total: { type: 'integer' }, next: { type: 'string', nullable: true } },
    },
  };
  for (const r of RESOURCES) {
    const fields = publicScalarFields(r.model);
    schemas[r.model] = {
      type: 'object',
      properties: Object.fromEntries(fields.map((f) => [f.name, { ...schemaOf(f.type, f.isList), ...(!f.isRequired && { nullable: true }) }])),
      required: fields.filter((f) => f.isRequired).map((f) => f.name),
    };
    const filterParams = r.filters.flatMap((f) => {
      if (f.kind === 'eq') return [{ name: f.arg, in: 'query', description: f.description, schema: schemaOf(f.type as FilterType) }];
      if (f.kind === 'contains') return [{ name: f.arg, in: 'query', description: f.description, schema: { type: 'string' } }];
      return [
        { name: f.min, in: 'query', description: `${f.description} (lower bound)`, schema: schemaOf(f.type) },
        { name: f.max, in: 'query', description: `${f.description} (upper bound)`, schema: schemaOf(f.type) },
      ];
    });
    paths[r.restPath] = {
      get: {
        summary: `List ${r.list}`,
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE } },
          { name: 'offset', in: 'query', schema: { type: 'integer', minimum: 0, default: 0 } },
          { name: 'order', in: 'query', schema: { type: 'string', enum: ['asc', 'desc'], default: 'asc' } },
          ...filterParams,
        ],
        responses: {
          200: {
            description: 'A page of rows',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    data: { type: 'array', items: { $ref: `#/components/schemas/${r.model}` } },
                    pagination: { $ref: '#/components/schemas/Pagination' },
                  },
                },
              },
            },
          },
          400: { description: 'Invalid parameter', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        },
      },
    };
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'rtrec shop REST API',
      version,
      description: 'Read-only REST views of the shop, as the seed prototype had. The full API is GraphQL at /graphql.',
    },
    paths,
    components: { schemas },
  };
}
