import { GraphQLError } from 'graphql';
import { AppError } from '../errors.js';

/**
 * The one place an AppError becomes a GraphQLError with a typed `extensions.code`: the server's error
 * masking calls it for every error a resolver or subscription throws. Resolvers throw AppErrors as they are.
 */
export function toGraphQLError(error: AppError): GraphQLError {
  return new GraphQLError(error.message, { extensions: { code: error.code, ...error.details } });
}

/**
 * What a client sees of an error thrown while executing an operation: a typed error as it is, anything else
 * masked (`onInternal` logs it in full).
 */
export function maskError(error: unknown, message: string, onInternal: (original: unknown) => void): GraphQLError {
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (original instanceof AppError) return toGraphQLError(original);
  if (error instanceof GraphQLError && !error.originalError) return error;
  if (original instanceof GraphQLError) return original;
  onInternal(original);
  return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}
