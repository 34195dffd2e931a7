import type { PanelContext } from './context.js';
import { messageOf } from './context.js';
import { body, clock, fill, formatMoney, h } from './dom.js';
import { TOP_PRODUCTS, TOP_PRODUCTS_UPDATED } from './operations.js';

interface Ranked {
  rank: number;
  productId: number;
  quantity: number;
  revenue: string;
  product: { name: string } | null;
}

const WINDOWS = { ONE_MINUTE: '1 minute', FIVE_MINUTES: '5 minutes', ONE_HOUR: '1 hour' };
const MEASURES = { QUANTITY: 'units', REVENUE: 'revenue' };

/** The top-products job's latest closed window (topProducts), replaced by each new one (topProductsUpdated). */
export function mountTopProducts(section: HTMLElement, { api }: PanelContext): void {
  const windowSelect = h('select', { 'aria-label': 'window' }, ...Object.entries(WINDOWS).map(([v, label]) => h('option', { value: v }, label)));
  const bySelect = h('select', { 'aria-label': 'rank by' }, ...Object.entries(MEASURES).map(([v, label]) => h('option', { value: v }, `by ${label}`)));
  const caption = h('p', { class: 'muted' });
  const errors = h('p', { class: 'error', role: 'alert' });
  const list = h('ol', { class: 'ranking', id: 'top-products-list' });
  fill(body(section), h('div', { class: 'row' }, windowSelect, bySelect), caption, errors, list);

  const show = (windowStart: string | undefined, windowEnd: string | undefined, products: Ranked[]) => {
    if (!windowStart || products.length === 0) {
      caption.textContent = 'No closed window yet: the top-products Flink job ranks each window as it closes.';
      fill(list);
      return;
    }
    caption.textContent = `Window ${clock(windowStart)}–${clock(windowEnd!)}`;
    fill(
      list,
      ...[...products]
        .sort((a, b) => a.rank - b.rank)
        .map((p) =>
          h(
            'li',
            { 'data-product': p.productId },
            h('span', { class: 'rank' }, `${p.rank}.`),
            h('span', { class: 'name' }, p.product?.name ?? `product ${p.productId}`),
            h('span', { class: 'num' }, `${p.quantity} units · ${formatMoney(p.revenue)}`),
          ),
        ),
    );
  };

  let unsubscribe: (() => void) | undefined;
  const load = () => {
    unsubscribe?.();
    errors.textContent = '';
    const variables = { window: windowSelect.value, by: bySelect.value };
    api
      .request<{ topProducts: { edges: { node: Ranked & { windowStart: string; windowEnd: string } }[] } }>(TOP_PRODUCTS, variables)
      .then(({ topProducts }) => {
        const first = topProducts.edges[0]?.node;
        show(
          first?.windowStart,
          first?.windowEnd,
          topProducts.edges.map((e) => e.node),
        );
      })
      .catch((error) => (errors.textContent = messageOf(error)));
    unsubscribe = api.subscribe<{ topProductsUpdated: { windowStart: string; windowEnd: string; products: Ranked[] } }>(
      TOP_PRODUCTS_UPDATED,
      variables,
      ({ topProductsUpdated: u }) => show(u.windowStart, u.windowEnd, u.products.slice(0, 10)),
      (error) => (errors.textContent = messageOf(error)),
    );
  };
  windowSelect.addEventListener('change', load);
  bySelect.addEventListener('change', load);
  load();
}
