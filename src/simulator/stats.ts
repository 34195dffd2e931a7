import type { ActionType } from '../shop/policy.js';

/** What a run did: actions attempted by the weights, and what each attempt became. */
export class RunStats {
  readonly attempted: Record<string, number> = {};
  readonly performed: Record<string, number> = {};
  readonly skipped: Record<string, number> = {};
  sessions = 0;
  ordersPaid = 0;
  ordersFailed = 0;

  attempt(type: ActionType): void {
    this.attempted[type] = (this.attempted[type] ?? 0) + 1;
  }
  perform(type: ActionType): void {
    this.performed[type] = (this.performed[type] ?? 0) + 1;
  }
  skip(type: ActionType, reason: string): void {
    const key = `${type}:${reason}`;
    this.skipped[key] = (this.skipped[key] ?? 0) + 1;
  }
  get events(): number {
    return Object.values(this.performed).reduce((a, b) => a + b, 0);
  }
}
