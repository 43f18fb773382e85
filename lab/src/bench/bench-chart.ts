import { Resvg } from '@resvg/resvg-js';
import type { BenchResults } from './bench-results.js';

/** One bar pair of the chart. */
interface Bar {
  label: string;
  rate: number;
  p99?: number;
  color: string;
}

const COLORS = {
  ceiling: '#8a8f98',
  read: '#2c9c8f',
  soldOut: '#8e6cc2',
  queued: '#2f6fb5',
  drain: '#3f9a4a',
  sync: '#d9772b',
};

function colorOf(key: string): string {
  if (key === 'ceiling') return COLORS.ceiling;
  if (key.startsWith('reads')) return COLORS.read;
  if (key === 'sold-out') return COLORS.soldOut;
  if (key.includes('sync')) return COLORS.sync;
  return COLORS.queued;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/**
 * The chart of docs/benchmarks.md as plain SVG, made from the results with no chart
 * library: per path, accepted requests per second (linear) and p99 latency (log scale,
 * since it spans from a millisecond to seconds). Queued paths blue, the sync baseline
 * orange, so the lesson reads at a glance.
 */
export function renderChartSvg(r: BenchResults): string {
  const bars: Bar[] = r.paths.map((p) => ({ label: p.label, rate: p.rate, p99: p.p99Ms, color: colorOf(p.key) }));
  const at = r.paths.findIndex((p) => p.key === 'admission') + 1;
  bars.splice(at, 0, { label: 'drain (worker → Postgres)', rate: r.drain.rate, color: COLORS.drain });

  const labelW = 270;
  const panelW = 330;
  const gap = 40;
  const rowH = 30;
  const top = 78;
  const width = labelW + panelW * 2 + gap + 30;
  const height = top + bars.length * rowH + 46;
  const maxRate = Math.max(1, ...bars.map((b) => b.rate));
  const p99s = bars.flatMap((b) => (b.p99 === undefined ? [] : [b.p99]));
  const logMin = Math.log10(Math.min(0.5, ...p99s));
  const logMax = Math.log10(Math.max(10, ...p99s) * 1.3);
  const x1 = labelW;
  const x2 = labelW + panelW + gap;
  const rateW = (v: number) => (v / maxRate) * (panelW - 70);
  const p99W = (v: number) =>
    Math.max(2, ((Math.log10(Math.max(v, 10 ** logMin)) - logMin) / (logMax - logMin)) * (panelW - 70));

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
  );
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(
    `<text x="16" y="26" font-size="17" font-weight="bold" fill="#1a1a1a">Stampede benchmark: one run, ${r.machine.cores} cores, everything co-located</text>`,
  );
  out.push(
    `<text x="16" y="46" fill="#555">${esc(`${r.startedAt.slice(0, 10)} · node ${r.machine.node} · ${r.settings.connections} connections · ${r.settings.durationS} s per path`)}</text>`,
  );
  out.push(`<text x="${x1}" y="${top - 10}" font-weight="bold" fill="#333">throughput (accepted req/s)</text>`);
  out.push(`<text x="${x2}" y="${top - 10}" font-weight="bold" fill="#333">p99 latency (ms, log scale)</text>`);
  bars.forEach((_, i) => {
    if (i % 2 === 0)
      out.push(`<rect x="8" y="${top + i * rowH}" width="${width - 16}" height="${rowH}" fill="#f6f7f9"/>`);
  });
  for (const tick of [1, 10, 100, 1000, 10000]) {
    if (Math.log10(tick) < logMin || Math.log10(tick) > logMax) continue;
    const x = x2 + p99W(tick);
    out.push(`<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${top + bars.length * rowH}" stroke="#e3e3e3"/>`);
    out.push(
      `<text x="${x}" y="${top + bars.length * rowH + 14}" text-anchor="middle" fill="#888" font-size="11">${tick}</text>`,
    );
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${labelW - 10}" y="${y + 19}" text-anchor="end" fill="#1a1a1a">${esc(b.label)}</text>`);
    out.push(`<rect x="${x1}" y="${y + 7}" width="${rateW(b.rate)}" height="${rowH - 14}" fill="${b.color}"/>`);
    out.push(`<text x="${x1 + rateW(b.rate) + 6}" y="${y + 19}" fill="#333">${fmt(b.rate)}</text>`);
    if (b.p99 === undefined) {
      out.push(`<text x="${x2}" y="${y + 19}" fill="#888">n/a (a rate, not requests)</text>`);
    } else {
      out.push(
        `<rect x="${x2}" y="${y + 7}" width="${p99W(b.p99)}" height="${rowH - 14}" fill="${b.color}" opacity="0.85"/>`,
      );
      out.push(`<text x="${x2 + p99W(b.p99) + 6}" y="${y + 19}" fill="#333">${fmt(b.p99)}</text>`);
    }
  });
  const legendY = height - 12;
  let lx = 16;
  for (const [name, color] of [
    ['ceiling', COLORS.ceiling],
    ['reads', COLORS.read],
    ['sold out', COLORS.soldOut],
    ['queued design', COLORS.queued],
    ['drain', COLORS.drain],
    ['sync baseline', COLORS.sync],
  ] as const) {
    out.push(
      `<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${color}"/><text x="${lx + 17}" y="${legendY}" fill="#333" font-size="12">${name}</text>`,
    );
    lx += 34 + name.length * 7;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * The chart as PNG at 1.5× its SVG size (sharp on high-density screens). Text is set in
 * the system's fonts; the SVG asks for Helvetica or Arial and falls back to any sans-serif.
 */
export function renderChartPng(svg: string): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: 1.5 },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
