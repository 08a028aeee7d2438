import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

// The layers point down: no two folders of src/ import each other, directly or around a cycle.
// (Which folder may import which is kept by the linter, biome.json's overrides.)

const src = resolve(import.meta.dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** A file's unit: its folder under src/, or the file itself for the few at the top. */
function unitOf(file: string): string {
  const [first, ...rest] = relative(src, file).split(sep);
  return rest.length === 0 ? (first as string) : `${first}/`;
}

/** The units each unit imports (relative imports only; packages are not layers). */
function unitGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(src)) {
    const from = unitOf(file);
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = resolve(dirname(file), match[1] as string);
      if (!target.startsWith(src)) continue;
      const to = unitOf(target);
      if (to !== from) edges.add(to);
    }
  }
  return graph;
}

function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (unit: string): string[] | undefined => {
    if (state.get(unit) === 'done') return undefined;
    if (state.get(unit) === 'open') return [...path.slice(path.indexOf(unit)), unit];
    state.set(unit, 'open');
    path.push(unit);
    for (const next of graph.get(unit) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(unit, 'done');
    return undefined;
  };
  for (const unit of graph.keys()) {
    const cycle = visit(unit);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

describe('the layers', () => {
  it('have no import cycle between folders', () => {
    const graph = unitGraph();
    expect(graph.get('domain/')).toEqual(new Set());
    expect(findCycle(graph)).toBeUndefined();
  });

  it('would see a cycle if there were one', () => {
    const graph = new Map([
      ['a/', new Set(['b/'])],
      ['b/', new Set(['c.ts'])],
      ['c.ts', new Set(['a/'])],
    ]);
    expect(findCycle(graph)).toEqual(['a/', 'b/', 'c.ts', 'a/']);
  });

  it('keep access control transport-neutral: auth/ knows nothing of HTTP, threads or composition', () => {
    const auth = unitGraph().get('auth/') ?? new Set();
    for (const above of ['api/', 'thread/', 'compose/', 'cli/', 'engine/']) expect(auth.has(above)).toBe(false);
    expect(auth.size).toBeGreaterThan(0);
  });

  it('keep the engine below the API, the threads and the composition root', () => {
    const engine = unitGraph().get('engine/') ?? new Set();
    for (const above of ['api/', 'thread/', 'compose/', 'cli/']) expect(engine.has(above)).toBe(false);
  });
});
