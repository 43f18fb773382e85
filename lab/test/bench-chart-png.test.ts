import { describe, expect, it } from 'vitest';
import { renderChartPng } from '../src/bench/bench-chart.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// The chart of docs/benchmarks.md is rendered by resvg from npm, so a machine without
// rsvg-convert still refreshes the README's PNG.
describe('the benchmark chart as PNG', () => {
  it('when an SVG chart is rendered, then the bytes are a PNG at 1.5× its size with its text drawn', () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="120" viewBox="0 0 400 120" font-family="Helvetica, Arial, sans-serif" font-size="13">
<rect width="100%" height="100%" fill="#ffffff"/>
<rect x="10" y="60" width="200" height="20" fill="#2f6fb5"/>
<text x="10" y="30" fill="#1a1a1a">throughput (accepted req/s)</text>
</svg>`;
    const png = renderChartPng(svg);
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    // IHDR, the first chunk: width and height as big-endian 32-bit integers.
    expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBe(600);
    expect(png.readUInt32BE(20)).toBe(180);
    // With the text drawn, the image is larger than the same chart without it.
    const blank = renderChartPng(svg.replace(/<text[^>]*>[^<]*<\/text>/, ''));
    expect(png.length).toBeGreaterThan(blank.length + 200);
  });
});
