import type { Logger } from '../logging/logger.js';
import type { FraudAlertRow, StreamResult } from './results.js';

/** At most this many deliveries in flight; beyond it alerts are logged as not delivered instead of piling up. */
const MAX_IN_FLIGHT = 50;

/** The JSON body a Slack incoming webhook (`text`) and a Discord webhook (`content`) both accept. */
export function alertMessage(alert: FraudAlertRow): { text: string; content: string; alert: FraudAlertRow } {
  const text = `:rotating_light: Fraud alert (${alert.rule}) on order ${alert.orderId}${alert.customerId === null ? '' : ` by customer ${alert.customerId}`}: ${alert.detail} — amount ${alert.amount}, committed ${alert.eventTime.toISOString()}`;
  return { text, content: text, alert };
}

/**
 * Posts every fraud alert to ALERT_WEBHOOK_URL. Runs in the API process, outside Flink, so a slow or
 * failing webhook can never stop or slow the detection job: each post has a timeout and one retry, and
 * failures are logged with the alert id.
 */
export function createAlertWebhook(url: string, logger: Logger, fetchImpl: typeof fetch = fetch) {
  let inFlight = 0;
  const stats = { delivered: 0, failed: 0, skipped: 0 };

  async function post(alert: FraudAlertRow): Promise<void> {
    const body = JSON.stringify(alertMessage(alert));
    for (let attempt = 1; attempt <= 2; attempt++) {
      try {
        const response = await fetchImpl(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(5000) });
        if (response.ok) {
          stats.delivered++;
          return;
        }
        if (attempt === 2) throw new Error(`HTTP ${response.status}`);
      } catch (error) {
        if (attempt === 2) {
          stats.failed++;
          logger.warn({ alertId: alert.alertId, err: (error as Error).message }, 'alert webhook failed; the alert stays in fraud_alerts and the topic');
        }
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  return {
    stats: () => ({ ...stats, inFlight }),
    /** Hand every stream result here; only fraud alerts are posted. Never throws, never waits. */
    onResult(result: StreamResult): void {
      if (result.kind !== 'fraud-alerts') return;
      if (inFlight >= MAX_IN_FLIGHT) {
        stats.skipped++;
        logger.warn({ alertId: result.row.alertId }, 'alert webhook backlog full; alert not posted');
        return;
      }
      inFlight++;
      void post(result.row).finally(() => inFlight--);
    },
  };
}
