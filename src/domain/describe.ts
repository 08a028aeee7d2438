import type { StockView } from './decide.js';
import { type Command, type CommandValue, viewLevel } from './types.js';

/** The answer to a successful command, read from the state after its events are applied. */
export function describe(command: Command, view: StockView): CommandValue {
  switch (command.type) {
    case 'RegisterItem': {
      const item = view.item(command.sku);
      if (item === undefined) throw new Error(`item ${command.sku} missing after registration`);
      return { kind: 'item', item };
    }
    case 'ReceiveStock':
    case 'ReturnStock':
    case 'AdjustStock':
    case 'CountStock':
    case 'ExpectStock':
      return { kind: 'levels', levels: [viewLevel(view.level(command.sku, command.location))] };
    case 'TransferStock':
      return {
        kind: 'levels',
        levels: [viewLevel(view.level(command.sku, command.from)), viewLevel(view.level(command.sku, command.to))],
      };
    case 'ReserveStock':
      return reservationValue(view, command.id);
    case 'CommitReservation':
    case 'ReleaseReservation':
    case 'ExpireReservation':
      return reservationValue(view, command.reservationId);
  }
}

function reservationValue(view: StockView, id: string): CommandValue {
  const reservation = view.reservation(id);
  if (reservation === undefined) throw new Error(`reservation ${id} missing after its command`);
  return { kind: 'reservation', reservation };
}
