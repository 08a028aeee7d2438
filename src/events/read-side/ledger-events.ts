import { eventTypes, type LedgerEvent } from '../../domain/index.js';

// What the read models take from a ledger event. The projector knows these types; an event of
// another type (written by a newer version) is passed over and counted, never guessed at.

const knownTypes: ReadonlySet<string> = new Set(eventTypes);

const itemRegistered = 'ItemRegistered';

/** Events that change one level (an item at a location): every known type but the item's own. */
export function isLevelEvent(event: LedgerEvent): boolean {
  return knownTypes.has(event.type) && (event.type as string) !== itemRegistered;
}

export function isKnownEvent(event: LedgerEvent): boolean {
  return knownTypes.has(event.type);
}

/** What an ItemRegistered event records of its item; undefined for any other event. */
export interface RegisteredItem {
  readonly name: string;
  readonly lowStockThreshold: number | null;
}

export function registeredItem(event: LedgerEvent): RegisteredItem | undefined {
  if ((event.type as string) !== itemRegistered) return undefined;
  const attributes = (event as { attributes?: Partial<RegisteredItem> | null }).attributes ?? null;
  return { name: attributes?.name ?? '', lowStockThreshold: attributes?.lowStockThreshold ?? null };
}

/** The clocks a past moment can be asked on: when a change happened, or when it was recorded. */
export const clocks = ['occurred', 'recorded'] as const;

export type Clock = (typeof clocks)[number];

export function timeOn(event: LedgerEvent, clock: Clock): number {
  return clock === 'occurred' ? event.occurredAt : event.recordedAt;
}
