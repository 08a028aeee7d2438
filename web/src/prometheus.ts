// A small parser of the Prometheus text exposition format (version 0.0.4), as /metrics serves
// it: `# TYPE` lines and samples `name{label="value",…} value`. Enough for the overview; it
// ignores HELP, timestamps and exemplars.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (name !== undefined && type !== undefined) types.set(name, type);
    } else if (line !== '' && !line.startsWith('#')) {
      const sample = parseSample(line);
      if (sample !== undefined) samples.push(sample);
    }
  }
  return { types, samples };
}

function parseSample(line: string): Sample | undefined {
  const brace = line.indexOf('{');
  const space = line.indexOf(' ');
  if (brace === -1 || (space !== -1 && space < brace)) {
    const [name, value] = line.split(' ');
    return name === undefined || value === undefined ? undefined : { name, labels: {}, value: parseValue(value) };
  }
  const name = line.slice(0, brace);
  const labels: Record<string, string> = {};
  let at = brace + 1;
  while (line[at] !== '}') {
    const equals = line.indexOf('=', at);
    const label = line.slice(at, equals).trim();
    let value = '';
    at = equals + 2; // past ="
    while (line[at] !== '"') {
      if (line[at] === '\\') {
        const escaped = line[at + 1];
        value += escaped === 'n' ? '\n' : (escaped ?? '');
        at += 2;
      } else {
        value += line[at];
        at += 1;
      }
      if (at >= line.length) return undefined;
    }
    labels[label] = value;
    at += 1;
    if (line[at] === ',') at += 1;
  }
  const rest = line
    .slice(at + 1)
    .trim()
    .split(' ');
  return { name, labels, value: parseValue(rest[0] ?? 'NaN') };
}

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** Whether the exposition has a family of this name (a metric the server does not expose shows "no data"). */
export function hasFamily(exposition: Exposition, name: string): boolean {
  return exposition.types.has(name);
}

/** The sum of a family's samples whose labels include `match`. */
export function total(exposition: Exposition, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const sample of exposition.samples) {
    if (sample.name === name && matches(sample.labels, match)) sum += sample.value;
  }
  return sum;
}

/** The family's samples summed by one label's value. */
export function byLabel(exposition: Exposition, name: string, label: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const sample of exposition.samples) {
    if (sample.name !== name) continue;
    const key = sample.labels[label] ?? '';
    sums.set(key, (sums.get(key) ?? 0) + sample.value);
  }
  return sums;
}

/** A histogram's cumulative buckets (`le` → count), summed over every other label. */
export function buckets(exposition: Exposition, histogram: string): Map<number, number> {
  const sums = new Map<number, number>();
  for (const sample of exposition.samples) {
    if (sample.name !== `${histogram}_bucket`) continue;
    const le = parseValue(sample.labels.le ?? 'NaN');
    sums.set(le, (sums.get(le) ?? 0) + sample.value);
  }
  return sums;
}

/**
 * The q-quantile of the observations between two bucket snapshots, interpolated within its bucket
 * as Prometheus's histogram_quantile does; null when nothing was observed.
 */
export function quantile(q: number, before: Map<number, number>, after: Map<number, number>): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const count = counts.at(-1) ?? 0;
  if (count <= 0) return null;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const [index, le] of bounds.entries()) {
    const cumulative = counts[index] ?? 0;
    if (cumulative >= rank) {
      if (le === Number.POSITIVE_INFINITY) return lower;
      const inBucket = cumulative - below;
      return inBucket === 0 ? le : lower + ((le - lower) * (rank - below)) / inBucket;
    }
    lower = le;
    below = cumulative;
  }
  return lower;
}

function matches(labels: Readonly<Record<string, string>>, match: Record<string, string>): boolean {
  for (const [name, value] of Object.entries(match)) if (labels[name] !== value) return false;
  return true;
}
