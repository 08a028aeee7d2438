// The Prometheus text format as a test reads it: each family's TYPE, and each sample's value by
// its name and labels. Strict about what it reads: a line it does not understand fails the test.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      if (name === undefined || type === undefined) throw new Error(`bad TYPE line: ${line}`);
      if (types.has(name)) throw new Error(`family ${name} declared twice`);
      types.set(name, type);
      continue;
    }
    const match = sampleLine.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(labelPair)) labels[pair[1] as string] = pair[2] as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return { types, samples };
}

/** The sum of the samples of `name` whose labels include `labels`. */
export function sampleSum(exposition: Exposition, name: string, labels: Readonly<Record<string, string>> = {}): number {
  return exposition.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value))
    .reduce((sum, s) => sum + s.value, 0);
}

/** A histogram's cumulative bucket counts by `le`, for the series with exactly these labels. */
export function bucketsOf(
  exposition: Exposition,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Map<string, number> {
  const wanted = Object.keys(labels).length + 1;
  const buckets = new Map<string, number>();
  for (const s of exposition.samples) {
    if (s.name !== `${name}_bucket` || Object.keys(s.labels).length !== wanted) continue;
    if (!Object.entries(labels).every(([key, value]) => s.labels[key] === value)) continue;
    buckets.set(s.labels.le as string, s.value);
  }
  return buckets;
}
