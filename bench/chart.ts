import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StoreKind } from './databases.js';
import type { EngineCellResult } from './engine-bench.js';
import { type WorkloadName, workloads } from './workload.js';

// The matrix as pictures: per workload, one grouped bar chart of orders/s, a group per store and
// a bar per strategy. The strategies differ by orders of magnitude, so the axis is logarithmic
// and every bar carries its figure. Drawn as SVG, rendered to PNG by resvg (no browser).

const width = 960;
const height = 520;
const plot = { left: 90, right: width - 30, top: 80, bottom: height - 80 } as const;
const renderWidthPx = 1600;

const strategyColors: Readonly<Record<string, string>> = {
  batched: '#2b6cb0',
  pessimistic: '#c05621',
  optimistic: '#2f855a',
  redlock: '#805ad5',
};
const storeLabels: Readonly<Record<StoreKind, string>> = { sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MariaDB' };

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const figure = (value: number) => Math.round(value).toLocaleString('en-US');

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attributes}>${escapeXml(content)}</text>`;
}

/** Powers of ten spanning the values: the log axis's bounds. */
function logBounds(values: readonly number[]): { low: number; high: number } {
  const positive = values.filter((value) => value > 0);
  if (positive.length === 0) return { low: 0, high: 1 };
  return {
    low: Math.floor(Math.log10(Math.min(...positive))),
    high: Math.max(Math.ceil(Math.log10(Math.max(...positive) * 1.15)), 1),
  };
}

function axis(low: number, high: number, y: (value: number) => number): string[] {
  const parts: string[] = [];
  for (let power = low; power <= high; power += 1) {
    const value = 10 ** power;
    const at = y(value);
    parts.push(`<line x1="${plot.left}" x2="${plot.right}" y1="${at}" y2="${at}" stroke="#d0d7de"/>`);
    parts.push(text(plot.left - 8, at + 4, figure(value), 'text-anchor="end" font-size="13" fill="#444"'));
  }
  parts.push(
    text(
      24,
      (plot.top + plot.bottom) / 2,
      'orders/s (log scale)',
      `font-size="14" fill="#444" text-anchor="middle" transform="rotate(-90 24 ${(plot.top + plot.bottom) / 2})"`,
    ),
  );
  return parts;
}

function legend(strategies: readonly string[]): string[] {
  return strategies.flatMap((strategy, index) => {
    const x = plot.left + index * 160;
    const y = height - 30;
    return [
      `<rect x="${x}" y="${y - 12}" width="14" height="14" fill="${strategyColors[strategy] ?? '#888'}"/>`,
      text(x + 20, y, strategy, 'font-size="14" fill="#222"'),
    ];
  });
}

/** The SVG of one workload's cells (at one in-flight count). */
export function matrixChartSvg(cells: readonly EngineCellResult[], workload: WorkloadName): string {
  const rows = cells.filter((cell) => cell.workload === workload);
  const stores = [...new Set(rows.map((cell) => cell.store))];
  const strategies = [...new Set(rows.map((cell) => cell.strategy))];
  const { low, high } = logBounds(rows.map((cell) => cell.ordersPerSecond));
  const y = (value: number) =>
    plot.bottom - ((Math.log10(Math.max(value, 10 ** low)) - low) / (high - low)) * (plot.bottom - plot.top);
  const groupWidth = (plot.right - plot.left) / Math.max(1, stores.length);
  const barWidth = Math.min(70, (groupWidth * 0.8) / Math.max(1, strategies.length));
  const parts = axis(low, high, y);
  stores.forEach((store, group) => {
    const bars = rows.filter((cell) => cell.store === store);
    const center = plot.left + groupWidth * (group + 0.5);
    const first = center - (bars.length * barWidth) / 2;
    bars.forEach((cell, index) => {
      const x = first + index * barWidth;
      const top = y(cell.ordersPerSecond);
      const fill = strategyColors[cell.strategy] ?? '#888';
      parts.push(
        `<rect x="${(x + 3).toFixed(1)}" y="${top.toFixed(1)}" width="${(barWidth - 6).toFixed(1)}" height="${(plot.bottom - top).toFixed(1)}" fill="${fill}"/>`,
      );
      parts.push(
        text(
          x + barWidth / 2,
          top - 6,
          figure(cell.ordersPerSecond),
          'font-size="12" text-anchor="middle" fill="#222"',
        ),
      );
    });
    parts.push(text(center, plot.bottom + 24, storeLabels[store], 'font-size="15" text-anchor="middle" fill="#222"'));
  });
  const inFlight = [...new Set(rows.map((cell) => cell.inFlight))].map(figure).join(', ');
  const title = `${workload} ${workloads[workload].title}: orders/s by write strategy, ${inFlight} in flight`;
  const subtitle = 'closed loop through the engine, reserve only; SQLite (one writer) runs the batched strategy only';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    text(width / 2, 36, title, 'font-size="19" font-weight="bold" text-anchor="middle" fill="#111"'),
    text(width / 2, 58, subtitle, 'font-size="13" text-anchor="middle" fill="#555"'),
    `<line x1="${plot.left}" x2="${plot.right}" y1="${plot.bottom}" y2="${plot.bottom}" stroke="#444"/>`,
    ...parts,
    ...legend(strategies),
    '</svg>',
  ].join('\n');
}

/** Writes `matrix-<workload>.png` into `dir` for every workload among the cells; returns the files. */
export async function writeMatrixCharts(cells: readonly EngineCellResult[], dir: string): Promise<string[]> {
  const { Resvg } = await import('@resvg/resvg-js');
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const workload of new Set(cells.map((cell) => cell.workload))) {
    const svg = matrixChartSvg(cells, workload);
    const png = new Resvg(svg, {
      fitTo: { mode: 'width', value: renderWidthPx },
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    }).render();
    const file = join(dir, `matrix-${workload.toLowerCase()}.png`);
    writeFileSync(file, png.asPng());
    files.push(file);
  }
  return files;
}
