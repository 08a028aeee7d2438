/**
 * A clock whose time lives in shared memory: the thread that owns it sets the time, and an
 * engine on another thread reads the same instant. Simulations and tests move it by hand; a
 * deployment uses the system clock instead.
 */
export class SharedClock {
  readonly buffer: SharedArrayBuffer;
  private readonly time: BigInt64Array;

  constructor(source: number | SharedArrayBuffer) {
    this.buffer = typeof source === 'number' ? new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT) : source;
    this.time = new BigInt64Array(this.buffer);
    if (typeof source === 'number') this.set(source);
  }

  readonly read = (): number => Number(Atomics.load(this.time, 0));

  set(ms: number): void {
    if (!Number.isSafeInteger(ms)) throw new Error(`a clock holds integer milliseconds, not ${ms}`);
    Atomics.store(this.time, 0, BigInt(ms));
  }
}
