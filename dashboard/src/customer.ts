import type { PanelContext } from './context.js';
import { messageOf } from './context.js';
import { body, clock, fill, formatMoney, h } from './dom.js';
import { CUSTOMER, CUSTOMER_EVENTS, RECENT_CUSTOMERS, RECOMMENDATIONS_UPDATED, VIEW_PRODUCT } from './operations.js';

interface EventRow {
  eventId: string;
  eventType: string;
  occurredAt: string;
  productId: number | null;
  product: { name: string } | null;
}

interface Recommendation {
  productId: number;
  score: number;
  reason: string;
  product: { name: string; price: string };
}

const KEEP_EVENTS = 25;

/**
 * One customer, live: their behaviour events (the latest, then each as it commits: behaviorEvent) and their
 * recommendations with the reason for each (recommendationsUpdated pushes the current list, then every
 * changed one). "View" records a view_product for the customer (the storefront's viewProduct), as a shopper
 * opening the product would; the list follows once Flink has updated their features.
 */
export function mountCustomer(section: HTMLElement, { api, token }: PanelContext): void {
  const input = h('input', {
    type: 'number',
    id: 'customer-id',
    min: 1,
    step: 1,
    list: 'customer-recent',
    placeholder: 'customer id',
    'aria-label': 'customer id',
  });
  const recent = h('datalist', { id: 'customer-recent' });
  const watch = h('button', { type: 'button', id: 'customer-watch' }, 'Watch');
  const title = h('h3', { id: 'customer-name' });
  const message = h('p', { class: 'muted', id: 'customer-message', role: 'status' }, 'Pick a customer to watch their events and recommendations live.');
  const events = h('ul', { class: 'events', id: 'customer-events' });
  const recs = h('ol', { class: 'recs', id: 'customer-recs' });
  const recsStatus = h('p', { class: 'muted', id: 'customer-recs-status' });
  fill(
    body(section),
    h('div', { class: 'row' }, input, recent, watch),
    title,
    message,
    h('div', { class: 'columns' }, h('div', {}, h('h4', {}, 'Events'), events), h('div', {}, h('h4', {}, 'Recommendations'), recsStatus, recs)),
  );

  let stop: (() => void)[] = [];
  let current: number | undefined;

  const eventItem = (e: EventRow, live: boolean) =>
    h(
      'li',
      { 'data-event': e.eventId, 'data-type': e.eventType, class: live ? 'fresh' : undefined },
      h('span', { class: 'time' }, clock(e.occurredAt)),
      ' ',
      h('strong', {}, e.eventType),
      e.product ? ` ${e.product.name}` : e.productId !== null ? ` product ${e.productId}` : '',
    );

  const view = async (customerId: number, productId: number) => {
    try {
      await api.request(VIEW_PRODUCT, { customerId, productId });
      message.textContent = `Recorded a view of product ${productId}; the list changes once Flink has updated the features.`;
    } catch (error) {
      message.textContent = messageOf(error);
    }
  };

  const open = async (customerId: number) => {
    for (const s of stop) s();
    stop = [];
    current = customerId;
    fill(events);
    fill(recs);
    recsStatus.textContent = '';
    title.textContent = '';
    message.textContent = 'Loading…';
    try {
      const data = await api.request<{
        customer: { customerId: number; firstName: string; lastName: string };
        behaviorEvents: { edges: { node: EventRow }[] };
      }>(CUSTOMER, { customerId });
      if (current !== customerId) return;
      title.textContent = `${data.customer.firstName} ${data.customer.lastName} (customer ${customerId})`;
      message.textContent = '';
      fill(events, ...data.behaviorEvents.edges.map(({ node }) => eventItem(node, false)));
    } catch (error) {
      message.textContent = messageOf(error);
      return;
    }
    stop.push(
      api.subscribe<{ behaviorEvent: { after: EventRow | null } }>(
        CUSTOMER_EVENTS,
        { customerId },
        ({ behaviorEvent }) => {
          if (!behaviorEvent.after || events.querySelector(`[data-event="${CSS.escape(behaviorEvent.after.eventId)}"]`)) return;
          events.insertBefore(eventItem(behaviorEvent.after, true), events.firstChild);
          while (events.childElementCount > KEEP_EVENTS) events.lastElementChild!.remove();
        },
        (error) => (message.textContent = messageOf(error)),
      ),
    );
    let updates = 0;
    stop.push(
      api.subscribe<{ recommendationsUpdated: { computedAt: string; recommendations: Recommendation[] } }>(
        RECOMMENDATIONS_UPDATED,
        { customerId },
        ({ recommendationsUpdated: u }) => {
          updates++;
          recsStatus.textContent = `${updates === 1 ? 'Current list' : `Updated (${updates - 1}×)`}, computed ${clock(u.computedAt)}${u.recommendations.length ? '' : ': nothing to recommend yet (the features come from the Flink job)'}`;
          recs.setAttribute('data-version', String(updates));
          fill(
            recs,
            ...u.recommendations.map((r, i) =>
              h(
                'li',
                { 'data-product': r.productId },
                h('span', { class: 'rank' }, `${i + 1}.`),
                h('span', { class: 'name' }, r.product.name),
                ` ${formatMoney(r.product.price)} `,
                h('span', { class: 'reason' }, r.reason),
                ` `,
                h('span', { class: 'score' }, r.score.toFixed(2)),
                token.role === 'admin' || token.role === 'service' || token.customerId === customerId
                  ? h('button', { type: 'button', class: 'view', onclick: () => void view(customerId, r.productId) }, 'View')
                  : '',
              ),
            ),
          );
        },
        (error) => (recsStatus.textContent = messageOf(error)),
      ),
    );
  };

  const go = () => {
    const value = Number(input.value);
    if (!Number.isInteger(value) || value < 1) {
      message.textContent = 'Enter a customer id: a whole number from 1 (the list suggests customers active lately).';
      return;
    }
    void open(value);
  };
  watch.addEventListener('click', go);
  input.addEventListener('keydown', (event) => (event as KeyboardEvent).key === 'Enter' && go());

  if (token.role === 'customer' && token.customerId !== undefined) {
    input.value = String(token.customerId);
    void open(token.customerId);
    return;
  }
  api
    .request<{ behaviorEvents: { edges: { node: { customerId: number } }[] } }>(RECENT_CUSTOMERS)
    .then(({ behaviorEvents }) => {
      const ids = [...new Set(behaviorEvents.edges.map((e) => e.node.customerId))].slice(0, 15);
      fill(recent, ...ids.map((id) => h('option', { value: id })));
    })
    .catch(() => undefined);
}
