import type { CommandValue } from '../domain/index.js';

// What a cached read is filed under, and which of those keys a committed command changed. '@' is
// outside the code charset, so no two keys collide.

/** An item's stock (all its locations): its own key and guard. */
export const itemKey = (sku: string): string => `i@${sku}`;
/** Covers every page of a location's stock. */
export const locationGuard = (location: string): string => `l@${location}`;
export const pageKey = (location: string, after: string | undefined, limit: number): string =>
  `p@${location}@${after ?? ''}@${limit}`;

/**
 * The guards a successful command's effect reaches, and the SKU it registered, if any. A
 * registration writes no ledger event (its answer's position is 0), so it raises no guard: what
 * it changes, "no such item" into an item, is handled by the SKU (registered-items.ts).
 */
export function touchedBy(value: CommandValue, guards: Set<string>): string | undefined {
  switch (value.kind) {
    case 'item':
      // A registration is an event at a position too: a load that read "no such item" before it is refused.
      guards.add(itemKey(value.item.sku));
      return value.item.sku;
    case 'levels':
      for (const level of value.levels) {
        guards.add(itemKey(level.sku));
        guards.add(locationGuard(level.location));
      }
      return undefined;
    case 'reservation':
      for (const line of value.reservation.lines) {
        guards.add(itemKey(line.sku));
        guards.add(locationGuard(line.location));
      }
      return undefined;
  }
}
