/*
 * A few DOM helpers. Text always goes in as text nodes (product names and reasons come from the database), never
 * as HTML.
 */

type Child = Node | string | number | null | undefined | false;
type Props = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

/** `h('td', { class: 'num', 'data-key': 42 }, 'text', child)`: an element with attributes, listeners (`onclick`) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

/** A table head of one row: `headRow('name', '#amount')` (a leading # right-aligns a number column). */
export function headRow(...columns: string[]): HTMLTableSectionElement {
  return h('thead', {}, h('tr', {}, ...columns.map((c) => (c.startsWith('#') ? h('th', { class: 'num' }, c.slice(1)) : h('th', {}, c)))));
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** The panel's body below its heading (made on first use). */
export function body(section: HTMLElement): HTMLElement {
  let element = section.querySelector<HTMLElement>(':scope > .body');
  if (!element) {
    element = h('div', { class: 'body' });
    section.appendChild(element);
  }
  return element;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
export const clock = (at: string | number | Date) => timeFormat.format(new Date(at));

const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
/** A Decimal string (exact on the wire) for display. */
export const formatMoney = (value: string | number) => money.format(Number(value));

export const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;
