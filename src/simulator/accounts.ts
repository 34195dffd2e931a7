import { en, en_US, Faker } from '@faker-js/faker';
import type pg from 'pg';
import type { Rng } from '../common/random.js';
import { generateData } from '../datagen/generate.js';
import type { Tastes, World } from './world.js';

/*
 * What shoppers do to their accounts now and then: a few sessions are a new customer signing up (the
 * generator's own rows: a hashed password, an address, hidden tastes), a few others start with an existing
 * customer changing their phone number or moving house. These are the changes `customerChanged` streams.
 */

/** Per live session: the chance that it is a new customer's first, and that it starts with a profile change. */
export const ACCOUNT_CHANCES = { signUp: 0.05, profileUpdate: 0.1 } as const;

export type AccountChange = 'sign_up' | 'phone_changed' | 'address_changed';

/** A new customer as the generator makes them, added to the world so this run's sessions can pick them. */
export async function signUp(pool: pg.Pool, world: World, seed: number): Promise<Tastes> {
  const { customerIds } = await generateData(pool, { categories: 0, products: 0, customers: 1, seed });
  const { rows } = await pool.query<{
    customer_id: number;
    category_weights: Record<string, number>;
    price_sensitivity: number;
    favorite_products: number[];
    activity: number;
  }>('SELECT customer_id, category_weights, price_sensitivity, favorite_products, activity FROM sim_customer_tastes WHERE customer_id = $1', [customerIds[0]]);
  const r = rows[0]!;
  const tastes: Tastes = {
    customerId: r.customer_id,
    categoryWeights: new Map(Object.entries(r.category_weights).map(([k, v]) => [Number(k), v])),
    priceSensitivity: r.price_sensitivity,
    favoriteProducts: r.favorite_products,
    activity: r.activity,
  };
  world.customers.push(tastes);
  return tastes;
}

/** A seeded faker of its own (the shared instance is the generator's, whose seed it sets per run). */
export function accountFaker(rng: Rng): Faker {
  const faker = new Faker({ locale: [en_US, en] });
  faker.seed(rng.int(0, 2 ** 31 - 1));
  return faker;
}

/** An existing customer changes their phone number or address (one UPDATE, updated_at with it). */
export async function updateProfile(pool: pg.Pool, customerId: number, rng: Rng, faker: Faker): Promise<AccountChange> {
  if (rng.chance(0.6)) {
    const address = `${faker.location.streetAddress()}, ${faker.location.city()}, ${faker.location.state({ abbreviated: true })} ${faker.location.zipCode('#####')}, United States`;
    await pool.query('UPDATE customers SET address = $2, updated_at = now() WHERE customer_id = $1', [customerId, address]);
    return 'address_changed';
  }
  await pool.query('UPDATE customers SET phone_number = $2, updated_at = now() WHERE customer_id = $1', [
    customerId,
    faker.phone.number({ style: 'national' }),
  ]);
  return 'phone_changed';
}
