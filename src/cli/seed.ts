import type { Command } from '../domain/index.js';
import type { CommandExecutor } from '../engine/executor.js';

// Demo data: a small catalogue in two warehouses. Every command has a fixed id, so seeding
// again changes nothing.

const catalogue = [
  ['SKU-001', 'Cordless drill 18V'],
  ['SKU-002', 'Drill bit set, 25 pieces'],
  ['SKU-003', 'Safety goggles'],
  ['SKU-004', 'Work gloves, size L'],
  ['SKU-005', 'Tape measure 8 m'],
  ['SKU-006', 'Spirit level 60 cm'],
  ['SKU-007', 'Claw hammer'],
  ['SKU-008', 'Screwdriver set'],
  ['SKU-009', 'Utility knife'],
  ['SKU-010', 'Extension cord 10 m'],
  ['SKU-011', 'LED work light'],
  ['SKU-012', 'Storage bin 40 l'],
] as const;

export const seedLocations = ['WH-EAST', 'WH-WEST'] as const;

export function seedCommands(): Command[] {
  const commands: Command[] = [];
  for (const [index, [sku, name]] of catalogue.entries()) {
    commands.push({ type: 'RegisterItem', id: `seed-item-${sku}`, sku, name, actor: 'seed' });
    for (const [at, location] of seedLocations.entries()) {
      const quantity = 20 + ((index * 37 + at * 53) % 180);
      commands.push({
        type: 'ReceiveStock',
        id: `seed-receipt-${sku}-${location}`,
        sku,
        location,
        quantity,
        reference: 'PO-SEED-0001',
        actor: 'seed',
      });
    }
  }
  return commands;
}

/** Seeds the demo data; returns how many commands took effect now (0 when already seeded). */
export async function seed(engine: CommandExecutor): Promise<number> {
  let applied = 0;
  for (const command of seedCommands()) {
    const { outcome, replayed } = await engine.execute(command);
    if (!outcome.ok) throw new Error(`seeding failed at ${command.id}: ${outcome.error.code} ${outcome.error.message}`);
    if (!replayed) applied += 1;
  }
  return applied;
}
