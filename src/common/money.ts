/** Money is handled in integer cents so that totals are exact; the database stores numeric(10,2). */
export const MAX_CENTS = 99_999_999_99;

export function toCents(value: { toString(): string } | number | string): number {
  const text = typeof value === 'number' ? value.toFixed(2) : value.toString();
  const match = /^(-?)(\d+)(?:\.(\d{1,2})\d*)?$/.exec(text.trim());
  if (!match) throw new Error(`not a money amount: ${text}`);
  const cents = Number(match[2]) * 100 + Number((match[3] ?? '0').padEnd(2, '0'));
  return match[1] === '-' ? -cents : cents;
}

export function fromCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
