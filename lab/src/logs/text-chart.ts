const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * One character per value, scaled from 0 (or the lowest value, when some are negative)
 * to the highest: ▁ is the bottom, █ the top, all-equal values a flat ▁ line. Enough to
 * see a backlog rise and drain without a plotting tool.
 */
export function sparkline(values: number[]): string {
  if (values.length === 0) return '';
  const lo = Math.min(0, ...values);
  const hi = Math.max(...values);
  if (hi === lo) return BLOCKS[0]!.repeat(values.length);
  return values
    .map((v) => BLOCKS[Math.min(BLOCKS.length - 1, Math.round(((v - lo) / (hi - lo)) * (BLOCKS.length - 1)))]!)
    .join('');
}

/** A horizontal bar of `width` cells for `value` out of `max`. */
export function bar(value: number, max: number, width = 20): string {
  if (max <= 0 || value <= 0) return '';
  return '█'.repeat(Math.max(1, Math.round((value / max) * width)));
}
