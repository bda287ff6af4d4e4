// Charts with Chart.js (served from the API's own node_modules copy as a global script).
// Animation is off: the pages poll, and a chart that re-animates every second distracts.

import { h } from './dom.js';

/** One colour per meaning, used by every chart and legend. */
export const colours = {
  stt: '#0ea5e9',
  tts: '#8b5cf6',
  llm: '#f59e0b',
  telephony: '#10b981',
  selfHosted: '#14b8a6',
  eou: '#64748b',
  v2v: '#ef4444',
  p50: '#6366f1',
  p95: '#f59e0b',
  p99: '#ef4444',
  neutral: '#94a3b8',
};

const live = new Set();

function Chart() {
  const lib = /** @type {any} */ (window).Chart;
  if (!lib) throw new Error('Chart.js did not load');
  if (!lib.defaults.__kickcall) {
    lib.defaults.animation = false;
    lib.defaults.responsive = true;
    lib.defaults.maintainAspectRatio = false;
    lib.defaults.font.family = getComputedStyle(document.body).fontFamily;
    lib.defaults.color = '#475569';
    lib.defaults.borderColor = '#e2e8f0';
    lib.defaults.plugins.legend.labels.boxWidth = 12;
    lib.defaults.__kickcall = true;
  }
  return lib;
}

/**
 * A chart in a sized box. Call `update(config)` with new data on each poll; charts are
 * destroyed when the page changes (`destroyCharts`).
 * @param {string} label what the chart shows, for screen readers
 * @param {number} heightPx
 */
export function chartBox(label, heightPx = 260) {
  const canvas = h('canvas', { role: 'img', 'aria-label': label });
  const box = h('div', { class: 'chart-box' }, canvas);
  box.style.height = `${heightPx}px`;
  let instance = null;
  return {
    el: box,
    /** @param {{ type: string, data: any, options?: any }} config */
    update(config) {
      if (!instance) {
        instance = new (Chart())(canvas, config);
        live.add(instance);
        return;
      }
      instance.data = config.data;
      if (config.options) instance.options = config.options;
      instance.update('none');
    },
  };
}

export function destroyCharts() {
  for (const c of live) c.destroy();
  live.clear();
}
