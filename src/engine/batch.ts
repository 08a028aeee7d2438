import {
  asCreated,
  atPosition,
  type Command,
  type CommandOutcome,
  type CommandRecord,
  type CommandValue,
  compareLevelKeys,
  type DecideContext,
  type DomainError,
  decideValid,
  describe,
  domainError,
  type EventDraft,
  levelKey,
  type Reservation,
  type StoredOutcome,
} from '../domain/index.js';
import { conflictError, type LevelGuard, type LevelRef, type WriteSession, type WriteSet } from '../store/port.js';
import { BatchState } from './batch-state.js';
import type { Answer } from './executor.js';
import type { ItemCache } from './item-cache.js';

/** Conflict code of a batch that found a reservation whose levels it had not locked. */
export const appearedCode = 'RESERVATION_APPEARED';

export interface PendingCommand {
  readonly command: Command;
  readonly fingerprint: string;
}

/** How each command of the batch was settled, before positions are known. */
type Step =
  | { readonly kind: 'replay'; readonly record: CommandRecord }
  | { readonly kind: 'conflict'; readonly commandId: string; readonly existing: string }
  | { readonly kind: 'repeat'; readonly of: number }
  | {
      readonly kind: 'decided';
      readonly pending: PendingCommand;
      readonly value: CommandValue | undefined;
      readonly error: DomainError | undefined;
      /** Index of the command's last event in the batch, -1 when it wrote none. */
      readonly lastEvent: number;
    };

/**
 * One batch, inside one write transaction: read what is immutable, lock every touched level in
 * global order, decide each command in arrival order against the locked rows (each succeeds or
 * fails alone), then write levels, events, reservations and idempotency records together.
 */
export async function runBatch(
  session: WriteSession,
  batch: readonly PendingCommand[],
  context: DecideContext,
  itemCache: ItemCache,
  /** `locked`: row locks in global order; `version`: unlocked reads, compare-and-set writes. */
  guard: LevelGuard = { kind: 'locked' },
): Promise<Answer[]> {
  const reservationIds = referencedReservations(batch);
  const [items, linesOf] = await Promise.all([
    itemCache.load(session, referencedSkus(batch)),
    reservationIds.length === 0 ? new Map<string, Reservation>() : session.loadReservations(reservationIds),
  ]);
  const touched = touchedKeys(batch, linesOf);
  const keys = [...touched.values()].sort(compareLevelKeys);
  const [levels, reservations, records] = await Promise.all([
    keys.length === 0 ? [] : guard.kind === 'locked' ? session.lockLevels(keys) : session.readLevels(keys),
    reservationIds.length === 0 ? new Map<string, Reservation>() : session.loadReservations(reservationIds),
    session.loadCommands(batch.map(({ command }) => command.id)),
  ]);
  for (const id of reservations.keys()) {
    // Committed by another writer between the two reads: its lines' levels were not locked.
    if (!linesOf.has(id))
      throw conflictError('unique_violation', `reservation ${id} appeared during the batch`, { code: appearedCode });
  }
  const state = new BatchState(items, touched, levels, reservations, records);
  const events: EventDraft[] = [];
  const steps = decideAll(batch, state, events, context);
  const first = events.length === 0 ? 0 : await session.claimPositions(events.length);
  const answers = settle(steps, first, await createdReservations(session, steps));
  const reservationChanges = state.changedReservations();
  const set: WriteSet = {
    items: state.changedItems(),
    levels: state.changedLevels(),
    levelGuard: guard,
    createdReservations: reservationChanges.created,
    updatedReservations: reservationChanges.updated,
    events: events.map((event, index) => atPosition(event, first + index)),
    commands: newRecords(steps, answers, context.now),
  };
  checkWriteSet(batch, answers, set, first);
  await session.write(set);
  return answers;
}

function decideAll(
  batch: readonly PendingCommand[],
  state: BatchState,
  events: EventDraft[],
  context: DecideContext,
): Step[] {
  const inBatch = new Map<string, number>();
  return batch.map((pending, index): Step => {
    const { command, fingerprint } = pending;
    const earlier = inBatch.get(command.id);
    if (earlier !== undefined) {
      const first = batch[earlier] as PendingCommand;
      return first.fingerprint === fingerprint
        ? { kind: 'repeat', of: earlier }
        : { kind: 'conflict', commandId: command.id, existing: first.command.type };
    }
    const record = state.record(command.id);
    if (record !== undefined) {
      return record.fingerprint === fingerprint
        ? { kind: 'replay', record }
        : { kind: 'conflict', commandId: command.id, existing: record.type };
    }
    inBatch.set(command.id, index);
    // Engine.execute validated the command before queueing it: decide without checking again.
    const decision = decideValid(command, state, context);
    if (!decision.ok) return { kind: 'decided', pending, value: undefined, error: decision.error, lastEvent: -1 };
    if (decision.item !== undefined) state.addItem(decision.item);
    for (const event of decision.events) {
      state.apply(event);
      events.push(event);
    }
    const lastEvent = decision.events.length === 0 ? -1 : events.length - 1;
    return { kind: 'decided', pending, value: describe(command, state), error: undefined, lastEvent };
  });
}

function settle(steps: readonly Step[], first: number, created: ReadonlyMap<string, Reservation>): Answer[] {
  const answers: Answer[] = [];
  for (const step of steps) {
    switch (step.kind) {
      case 'replay':
        answers.push({ outcome: replayedOutcome(step.record.outcome, created), replayed: true });
        break;
      case 'conflict':
        answers.push({ outcome: conflict(step.commandId, step.existing), replayed: false });
        break;
      case 'repeat':
        answers.push({ outcome: (answers[step.of] as Answer).outcome, replayed: true });
        break;
      case 'decided':
        answers.push({ outcome: decidedOutcome(step, first), replayed: false });
        break;
    }
  }
  return answers;
}

function decidedOutcome(step: Extract<Step, { kind: 'decided' }>, first: number): CommandOutcome {
  const commandId = step.pending.command.id;
  if (step.error !== undefined) return { ok: false, commandId, error: step.error };
  const position = step.lastEvent < 0 ? 0 : first + step.lastEvent;
  return { ok: true, commandId, value: step.value as CommandValue, position };
}

export function conflict(commandId: string, existingType: string): CommandOutcome {
  return {
    ok: false,
    commandId,
    error: domainError('IDEMPOTENCY_CONFLICT', `command id ${commandId} was already used with another payload`, {
      commandId,
      existingType,
    }),
  };
}

/** The reservations that repeats of a successful ReserveStock are answered from. */
async function createdReservations(session: WriteSession, steps: readonly Step[]): Promise<Map<string, Reservation>> {
  const ids = steps.flatMap((step) =>
    step.kind === 'replay' && 'created' in step.record.outcome ? [step.record.id] : [],
  );
  return ids.length === 0 ? new Map() : session.loadReservations(ids);
}

function replayedOutcome(stored: StoredOutcome, created: ReadonlyMap<string, Reservation>): CommandOutcome {
  if (!('created' in stored)) return stored;
  const reservation = created.get(stored.commandId);
  if (reservation === undefined)
    throw new Error(`reservation ${stored.commandId} of a recorded ReserveStock is missing`);
  const value = { kind: 'reservation', reservation: asCreated(reservation) } as const;
  return { ok: true, commandId: stored.commandId, value, position: stored.position };
}

/** What a first result is stored as: a successful ReserveStock as a reference to its reservation. */
function storedOutcome(command: Command, outcome: CommandOutcome): StoredOutcome {
  if (!outcome.ok || command.type !== 'ReserveStock') return outcome;
  return { ok: true, commandId: outcome.commandId, position: outcome.position, created: 'reservation' };
}

function newRecords(steps: readonly Step[], answers: readonly Answer[], now: number): CommandRecord[] {
  const records: CommandRecord[] = [];
  for (const [index, step] of steps.entries()) {
    if (step.kind !== 'decided') continue;
    const { command, fingerprint } = step.pending;
    const { outcome } = answers[index] as Answer;
    // An expiry's id is fixed per reservation: a refusal (not yet due, seen before its
    // reservation) must not become its first result, or the reservation could never expire.
    // The reservation's own status already makes it resolve at most once.
    if (command.type === 'ExpireReservation' && !outcome.ok) continue;
    records.push({
      id: command.id,
      type: command.type,
      fingerprint,
      outcome: storedOutcome(command, outcome),
      recordedAt: now,
    });
  }
  return records;
}

export function referencedReservations(batch: readonly PendingCommand[]): string[] {
  const ids = new Set<string>();
  for (const { command } of batch) {
    if ('reservationId' in command) ids.add(command.reservationId);
  }
  return [...ids];
}

function referencedSkus(batch: readonly PendingCommand[]): string[] {
  const skus = new Set<string>();
  for (const { command } of batch) {
    if ('sku' in command) skus.add(command.sku);
    if (command.type === 'ReserveStock' || (command.type === 'CommitReservation' && command.lines)) {
      for (const line of command.lines ?? []) skus.add(line.sku);
    }
  }
  return [...skus];
}

type Touch = (sku: string, location: string) => void;

/**
 * Every level the commands may read or change, sorted in the global lock order. A decision that
 * reads a level outside this set is a bug that BatchState refuses to answer.
 */
export function touchedLevels(
  batch: readonly PendingCommand[],
  reservations: ReadonlyMap<string, Reservation>,
): LevelRef[] {
  return [...touchedKeys(batch, reservations).values()].sort(compareLevelKeys);
}

/** The same levels by key, unsorted. */
function touchedKeys(
  batch: readonly PendingCommand[],
  reservations: ReadonlyMap<string, Reservation>,
): Map<string, LevelRef> {
  const keys = new Map<string, LevelRef>();
  for (const { command } of batch) {
    touchedBy(command, reservations, (sku, location) => keys.set(levelKey(sku, location), { sku, location }));
  }
  return keys;
}

function touchedBy(command: Command, reservations: ReadonlyMap<string, Reservation>, touch: Touch): void {
  switch (command.type) {
    case 'RegisterItem':
      break;
    case 'ReceiveStock':
    case 'ReturnStock':
    case 'CountStock':
    case 'AdjustStock':
    case 'ExpectStock':
      touch(command.sku, command.location);
      break;
    case 'TransferStock':
      touch(command.sku, command.from);
      touch(command.sku, command.to);
      break;
    case 'ReserveStock':
      for (const line of command.lines) touch(line.sku, line.location);
      break;
    case 'CommitReservation':
    case 'ReleaseReservation':
    case 'ExpireReservation':
      for (const line of reservations.get(command.reservationId)?.lines ?? []) touch(line.sku, line.location);
      break;
    default:
      // A new command type must say which levels it touches: an unloaded level is refused at write.
      command satisfies never;
  }
}

/**
 * What a batch writes must follow from what it decided: a programmer error here would be written
 * for good, so it fails the batch before anything is written (the engine then isolates the
 * command that trips it, refused as INTERNAL). BatchState checks each level's version against
 * the events applied to it.
 */
function checkWriteSet(
  batch: readonly PendingCommand[],
  answers: readonly Answer[],
  set: WriteSet,
  first: number,
): void {
  assert(answers.length === batch.length, `a batch of ${batch.length} commands has ${answers.length} answers`);
  const { events } = set;
  for (let index = 0; index < events.length; index += 1) {
    const position = (events[index] as WriteSet['events'][number]).position;
    assert(position === first + index, `event ${index} of the batch is at ${position}, not ${first + index}`);
  }
}

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`write path invariant: ${message}`);
}
