// A bar chart drawn as SVG elements (no HTML, no library). Each bar has a
// <title> with its exact figure; the page shows the same numbers in a table.

import { svg, h } from './dom.js';

/**
 * points: [{label, value}]; format(value) → text. Fixed height, width
 * scales with its container (viewBox), so nothing moves while loading.
 */
export function barChart(points, { label, format = String, height = 180 } = {}) {
  const width = 640;
  const pad = { top: 12, right: 8, bottom: 28, left: 8 };
  const max = Math.max(0, ...points.map((p) => Number(p.value) || 0));
  const inner = { w: width - pad.left - pad.right, h: height - pad.top - pad.bottom };
  const step = points.length ? inner.w / points.length : inner.w;
  const barW = Math.max(2, Math.min(36, step * 0.7));
  const root = svg('svg', {
    class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': label || 'chart', preserveAspectRatio: 'none',
  });
  root.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: pad.top + inner.h, y2: pad.top + inner.h, class: 'axis' }));
  const labelEvery = Math.max(1, Math.ceil(points.length / 10));
  points.forEach((p, i) => {
    const v = Number(p.value) || 0;
    const bh = max > 0 ? (v / max) * inner.h : 0;
    const x = pad.left + i * step + (step - barW) / 2;
    const y = pad.top + inner.h - bh;
    root.append(svg('rect', { x, y, width: barW, height: Math.max(bh, v > 0 ? 1 : 0), class: 'bar-rect' },
      svg('title', {}, `${p.label}: ${format(v)}`)));
    if (i % labelEvery === 0) {
      root.append(svg('text', { x: x + barW / 2, y: height - 8, class: 'chart-label', 'text-anchor': 'middle' }, p.label));
    }
  });
  return h('figure', { class: 'chart-wrap' }, root,
    h('figcaption', { class: 'muted' }, label, max > 0 ? ` · peak ${format(max)}` : ' · no data yet'));
}
