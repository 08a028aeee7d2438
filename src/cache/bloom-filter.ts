// A bloom filter over item SKUs, so that reads of SKUs never registered stop before the cache
// and the store. A bitset of our own: Redis here has no bloom module, and the npm packages are
// large for the forty lines it takes. It cannot forget a key, which suits items: they are never
// deleted.

/** Fewest bits a filter has, however few items there are. */
const bitCountMin = 1024;

export class BloomFilter {
  private readonly bits: Uint32Array;
  private readonly bitCount: number;
  private readonly hashCount: number;
  private added = 0;

  /** A filter for `capacity` keys that lets through about `falsePositiveRate` of the keys it never saw. */
  constructor(
    readonly capacity: number,
    falsePositiveRate: number,
  ) {
    if (!(capacity >= 1 && falsePositiveRate > 0 && falsePositiveRate < 1)) {
      throw new Error(`bloom filter: bad capacity ${capacity} or rate ${falsePositiveRate}`);
    }
    const bits = Math.ceil((-capacity * Math.log(falsePositiveRate)) / (Math.LN2 * Math.LN2));
    this.bitCount = Math.max(bitCountMin, bits);
    this.hashCount = Math.max(1, Math.round((this.bitCount / capacity) * Math.LN2));
    this.bits = new Uint32Array(Math.ceil(this.bitCount / 32));
  }

  /** More keys than it was sized for: its false-positive rate is above the one asked. */
  get full(): boolean {
    return this.added > this.capacity;
  }

  get size(): number {
    return this.added;
  }

  add(key: string): void {
    const [first, step] = hashes(key);
    for (let index = 0; index < this.hashCount; index += 1) {
      const bit = (first + index * step) % this.bitCount;
      this.bits[bit >>> 5] = (this.bits[bit >>> 5] as number) | (1 << (bit & 31));
    }
    this.added += 1;
  }

  /** False: the key was never added. True: it probably was. */
  has(key: string): boolean {
    const [first, step] = hashes(key);
    for (let index = 0; index < this.hashCount; index += 1) {
      const bit = (first + index * step) % this.bitCount;
      if (((this.bits[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** Two FNV-1a hashes of the key's code units (double hashing: bit i = h1 + i·h2). */
function hashes(key: string): [number, number] {
  let first = 0x811c9dc5;
  let second = 0x01000193 ^ key.length;
  for (let index = 0; index < key.length; index += 1) {
    const code = key.charCodeAt(index);
    first = Math.imul(first ^ code, 0x01000193);
    second = Math.imul(second ^ code, 0x5bd1e995);
    second ^= second >>> 15;
  }
  // The step is odd, so it never stays on one bit.
  return [first >>> 0, (second | 1) >>> 0];
}
