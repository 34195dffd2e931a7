import type { PanelContext } from './context.js';
import { every, messageOf } from './context.js';
import { body, fill, h, headRow, percent } from './dom.js';
import { SIMULATION_UPTAKE } from './operations.js';

interface Uptake {
  recommender: string;
  lists: number;
  impressions: number;
  clicks: number;
  clickedProductsBought: number;
}

/** Runs whose uptake is summed (the newest). */
const RUNS = 20;

/**
 * Click-through and conversion of the recommendations shown, per recommender (ours against the random
 * baseline), summed over the latest live simulation runs' recommendationUptake (counted from the
 * recommendation_impression / recommendation_click events). Polled every 10 s: each run's figures are a query.
 */
export function mountUptake(section: HTMLElement, { api }: PanelContext): void {
  const caption = h('p', { class: 'muted' }, 'Loading…');
  const rows = h('tbody', { id: 'uptake-rows' });
  fill(body(section), caption, h('table', {}, headRow('recommender', '#runs', '#shown', '#clicks', 'click-through', '#bought after click'), rows));
  every(10_000, async () => {
    try {
      const { simulationRuns } = await api.request<{ simulationRuns: { edges: { node: { recommendationUptake: Uptake | null } }[] } }>(SIMULATION_UPTAKE, {
        first: RUNS,
      });
      const by = new Map<string, Uptake & { runs: number }>();
      for (const { node } of simulationRuns.edges) {
        const u = node.recommendationUptake;
        if (!u) continue;
        const sum = by.get(u.recommender) ?? { recommender: u.recommender, runs: 0, lists: 0, impressions: 0, clicks: 0, clickedProductsBought: 0 };
        sum.runs++;
        sum.lists += u.lists;
        sum.impressions += u.impressions;
        sum.clicks += u.clicks;
        sum.clickedProductsBought += u.clickedProductsBought;
        by.set(u.recommender, sum);
      }
      caption.textContent = by.size
        ? `Over the latest ${RUNS} simulation runs that showed recommendations.`
        : 'No simulation run has shown recommendations yet: start one (recommendations > 0).';
      fill(
        rows,
        ...[...by.values()].map((u) => {
          const ctr = u.impressions ? u.clicks / u.impressions : 0;
          return h(
            'tr',
            { 'data-recommender': u.recommender },
            h('td', {}, u.recommender),
            h('td', { class: 'num' }, u.runs),
            h('td', { class: 'num' }, u.impressions.toLocaleString()),
            h('td', { class: 'num' }, u.clicks.toLocaleString()),
            h('td', {}, h('meter', { min: 0, max: 0.2, value: ctr }), ` ${percent(ctr)}`),
            h('td', { class: 'num' }, u.clicks ? percent(u.clickedProductsBought / u.clicks) : '–'),
          );
        }),
      );
    } catch (error) {
      caption.textContent = messageOf(error);
    }
  });
}
