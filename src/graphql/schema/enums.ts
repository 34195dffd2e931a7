import { BehaviorEventType, OrderStatus, PaymentMethod, PaymentStatus, ShipmentStatus, SimulationStatus } from '../../generated/prisma/enums.js';
import { builder } from '../builder.js';

/** GraphQL enums mirror the database enums exactly (values in the database's snake_case). */
export const enums = {
  OrderStatus: builder.enumType(OrderStatus, { name: 'OrderStatus' }),
  PaymentMethod: builder.enumType(PaymentMethod, { name: 'PaymentMethod' }),
  PaymentStatus: builder.enumType(PaymentStatus, { name: 'PaymentStatus' }),
  ShipmentStatus: builder.enumType(ShipmentStatus, { name: 'ShipmentStatus' }),
  BehaviorEventType: builder.enumType(BehaviorEventType, { name: 'BehaviorEventType' }),
  SimulationStatus: builder.enumType(SimulationStatus, { name: 'SimulationStatus' }),
};

export const SortOrder = builder.enumType('SortOrder', { values: { ASC: { value: 'asc' }, DESC: { value: 'desc' } } as const });
