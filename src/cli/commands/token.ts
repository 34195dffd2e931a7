import { tokenServiceFor } from '../../app/context.js';
import { loadConfig } from '../../config/env.js';
import { AppError } from '../../errors.js';
import { print } from '../output.js';

export interface TokenOptions {
  role: 'admin' | 'service' | 'analyst' | 'customer';
  customer?: number;
  ttl: number;
  json?: boolean;
}

/** Prints a signed token for the role; only a customer token names a customer, and it must. */
export async function token(options: TokenOptions): Promise<void> {
  if (options.role === 'customer' && options.customer === undefined)
    throw new AppError('BAD_USER_INPUT', 'A customer token acts for one customer: add --customer <id>.');
  if (options.role !== 'customer' && options.customer !== undefined)
    throw new AppError('BAD_USER_INPUT', `--customer is only for --role customer (a ${options.role} token is not tied to a customer).`);
  const config = loadConfig(process.env);
  const jwt = await tokenServiceFor(config).sign({ role: options.role, customerId: options.customer }, options.ttl);
  if (!options.json) return print(jwt);
  const expiresAt = new Date(Date.now() + options.ttl * 1000).toISOString();
  print(JSON.stringify({ token: jwt, role: options.role, customerId: options.customer ?? null, expiresAt }));
}
