import type pg from 'pg';
import { FULFILMENT, RESTOCK } from './policy.js';

export interface FulfilmentTick {
  shipped: number;
  inTransit: number;
  delivered: number;
  restocked: number;
}

/**
 * Moves paid orders along their lifecycle (paid → shipped → delivered, shipments pending → shipped →
 * in_transit → delivered) by the same thresholds as `fulfilmentAt`, divided by `speed` when the
 * simulation runs on a compressed clock, and tops up products that are running out.
 */
export async function advanceFulfilment(pool: pg.Pool, speed = 1, policy = FULFILMENT): Promise<FulfilmentTick> {
  const ms = (value: number) => `${Math.max(1, Math.round(value / speed))} milliseconds`;
  const shipped = await pool.query(
    `WITH s AS (
       UPDATE shipments SET status = 'shipped', shipment_date = now(), updated_at = now()
        WHERE status = 'pending' AND shipment_id IN (
          SELECT shipment_id FROM orders WHERE status = 'paid' AND order_date < now() - $1::interval)
       RETURNING shipment_id)
     UPDATE orders SET status = 'shipped' WHERE shipment_id IN (SELECT shipment_id FROM s)`,
    [ms(policy.shipAfterMs)],
  );
  const inTransit = await pool.query(
    `UPDATE shipments SET status = 'in_transit', updated_at = now() WHERE status = 'shipped' AND shipment_date < now() - $1::interval`,
    [ms(policy.inTransitAfterMs - policy.shipAfterMs)],
  );
  const delivered = await pool.query(
    `WITH s AS (
       UPDATE shipments SET status = 'delivered', updated_at = now()
        WHERE status = 'in_transit' AND shipment_date < now() - $1::interval RETURNING shipment_id)
     UPDATE orders SET status = 'delivered' WHERE shipment_id IN (SELECT shipment_id FROM s)`,
    [ms(policy.deliverAfterMs - policy.shipAfterMs)],
  );
  const restocked = await pool.query(`UPDATE products SET stock = stock + $2, updated_at = now() WHERE is_active AND stock < $1`, [
    RESTOCK.threshold,
    RESTOCK.quantity,
  ]);
  return { shipped: shipped.rowCount ?? 0, inTransit: inTransit.rowCount ?? 0, delivered: delivered.rowCount ?? 0, restocked: restocked.rowCount ?? 0 };
}
