/** The roles a bearer token can carry (see README, "Who may do what"). */
export const ROLES = ['admin', 'service', 'analyst', 'customer', 'anonymous'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: the verified token's role (anonymous without a token) and, for customers, the customer id they claim. */
export interface Principal {
  role: Role;
  /** Set exactly when role is customer. */
  customerId?: number;
  /** The token's `sub`, for logs. */
  subject?: string;
  /** When the token expires (ms since the epoch); long-lived connections end then. */
  expiresAt?: number;
}

export const ANONYMOUS: Principal = Object.freeze({ role: 'anonymous' }) as Principal;

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
