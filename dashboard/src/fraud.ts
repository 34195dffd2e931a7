import type { PanelContext } from './context.js';
import { messageOf } from './context.js';
import { body, clock, fill, formatMoney, h, headRow } from './dom.js';
import { FRAUD_ALERT, FRAUD_ALERTS } from './operations.js';

interface Alert {
  alertId: string;
  rule: string;
  customerId: number | null;
  orderId: number;
  amount: string;
  orderCount: number;
  detail: string;
  eventTime: string;
  detectedAt: string;
}

const KEEP = 50;

/** The fraud-detection job's alerts, newest first: the latest from fraudAlerts, then each one as it is emitted. */
export function mountFraud(section: HTMLElement, { api }: PanelContext): void {
  const caption = h('p', { class: 'muted' }, 'Loading…');
  const errors = h('p', { class: 'error', role: 'alert' });
  const rows = h('tbody', { id: 'fraud-rows' });
  fill(
    body(section),
    caption,
    errors,
    h('div', { class: 'scroll short' }, h('table', {}, headRow('detected', 'rule', 'customer', 'order', '#amount', 'detail'), rows)),
  );
  const alerts = new Map<string, Alert>();
  const draw = () => {
    const sorted = [...alerts.values()].sort((a, b) => Date.parse(b.detectedAt) - Date.parse(a.detectedAt)).slice(0, KEEP);
    for (const key of alerts.keys()) if (!sorted.some((a) => a.alertId === key)) alerts.delete(key);
    caption.textContent = sorted.length ? `${sorted.length} most recent alerts (velocity, high_value, burst)` : 'No fraud alert yet.';
    fill(
      rows,
      ...sorted.map((a) =>
        h(
          'tr',
          { 'data-alert': a.alertId, 'data-rule': a.rule },
          h('td', {}, clock(a.detectedAt)),
          h('td', {}, h('span', { class: `rule rule-${a.rule}` }, a.rule)),
          h('td', { class: 'num' }, a.customerId ?? ''),
          h('td', { class: 'num' }, a.orderId),
          h('td', { class: 'num' }, formatMoney(a.amount)),
          h('td', {}, a.detail),
        ),
      ),
    );
  };
  api
    .request<{ fraudAlerts: { edges: { node: Alert }[] } }>(FRAUD_ALERTS)
    .then(({ fraudAlerts }) => {
      for (const { node } of fraudAlerts.edges) alerts.set(node.alertId, node);
      draw();
    })
    .catch((error) => (errors.textContent = messageOf(error)));
  api.subscribe<{ fraudAlert: Alert }>(
    FRAUD_ALERT,
    {},
    ({ fraudAlert }) => {
      alerts.set(fraudAlert.alertId, fraudAlert);
      draw();
    },
    (error) => (errors.textContent = messageOf(error)),
  );
}
