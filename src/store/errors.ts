import { StoreError } from './port.js';

/**
 * A dialect's guard: runs work and turns whatever it throws into the StoreError the dialect's
 * `translate` makes of it, so that no driver error crosses the store's edge.
 */
export function guardWith(translate: (error: unknown) => StoreError) {
  return async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw translate(error);
    }
  };
}

/** A StoreError as it is; anything else by its message, for a dialect to classify. */
export function passThrough(error: unknown): StoreError | string {
  if (error instanceof StoreError) return error;
  return error instanceof Error ? error.message : String(error);
}
