import { openProjection } from '../compose/read-side.js';
import { createLog } from '../compose/runtime.js';
import type { Config } from '../config.js';
import { isReadModelName, type ReadModelName, readModelNames } from '../events/read-side/read-models.js';
import type { ReadSideStatus } from '../events/read-side/read-side.js';
import { StartupError } from '../startup-error.js';

// `skuld projections rebuild | catch-up | status`: the read models, from this process, beside or
// without a server. A rebuild empties a model and puts its position to 0 in one transaction,
// then applies the ledger page by page, each page with its position in one transaction: killed
// at any point, it leaves each model whole up to its position, and the next projector (a
// server's, or `catch-up`) goes on from there.

export const projectionsUsage = `Usage:
  skuld projections rebuild [--model <name>]…   empty the models (all by default) and project the ledger again
  skuld projections catch-up                    apply what the models lack, from their positions
  skuld projections status                      each model's position and lag

Models: ${readModelNames.join(', ')}`;

export type ProjectionsAction =
  | { readonly kind: 'rebuild'; readonly models: readonly ReadModelName[] }
  | { readonly kind: 'catch-up' }
  | { readonly kind: 'status' };

const invalid = (message: string) => new StartupError('CONFIG_INVALID', `${message}\n\n${projectionsUsage}`);

/** Takes the action and its own flags from the arguments; the rest are settings' flags. */
export function parseProjectionsArgs(args: readonly string[]): { action: ProjectionsAction; rest: string[] } {
  const [verb, ...tail] = args;
  const rest: string[] = [];
  const models: ReadModelName[] = [];
  for (let index = 0; index < tail.length; index += 1) {
    const arg = tail[index] as string;
    if (arg === '--model') {
      const name = tail[++index] ?? '';
      if (!isReadModelName(name)) throw invalid(`unknown model "${name}"`);
      models.push(name);
    } else {
      rest.push(arg);
    }
  }
  if (verb === 'rebuild')
    return { action: { kind: 'rebuild', models: models.length > 0 ? models : readModelNames }, rest };
  if (models.length > 0) throw invalid('--model goes with rebuild');
  if (verb === 'catch-up' || verb === 'status') return { action: { kind: verb }, rest };
  throw invalid(`unknown action "${verb ?? ''}"`);
}

export async function runProjections(config: Config, action: ProjectionsAction): Promise<number> {
  const projection = await openProjection(config, createLog(config));
  try {
    const { projector, readSide } = projection;
    if (action.kind === 'rebuild') await projector.reset(action.models);
    if (action.kind !== 'status') {
      const head = (await readSide.status()).head;
      let pages = 0;
      while ((await projector.step()) > 0) {
        pages += 1;
        const lowest = Math.min(...(await readSide.checkpoints()).map((c) => c.position));
        if (pages % 20 === 0)
          process.stderr.write(`projections: ${lowest.toLocaleString('en-US')} of ${head.toLocaleString('en-US')}\n`);
      }
    }
    console.log(formatStatus(await readSide.status()));
    return 0;
  } finally {
    await projection.close();
  }
}

function formatStatus(status: ReadSideStatus): string {
  const rows = status.models.map((m) => [
    m.model,
    String(m.position),
    String(m.lagEvents),
    String(Math.round(m.lagMs / 1000)),
    String(m.skipped),
  ]);
  const table = [['model', 'position', 'behind (events)', 'behind (s)', 'skipped'], ...rows];
  const widths = [0, 1, 2, 3, 4].map((column) => Math.max(...table.map((row) => (row[column] as string).length)));
  const lines = table.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  return [`ledger head: ${status.head}`, ...lines].join('\n');
}
