// A separate engine process for the concurrency tests: it opens the store named by the
// environment, says `ready` on stdout, waits for `go` on stdin (so that several workers really
// run at once, however long each took to start), runs the commands from the JSON file named by
// argv[2] with a bounded number in flight, and prints every answer and the engine's stats as one
// JSON line.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createRuntime } from '../../src/compose/runtime.js';
import { loadConfig } from '../../src/config.js';
import type { Command } from '../../src/domain/index.js';

const { commands, inFlight } = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as {
  commands: Command[];
  inFlight: number;
};
const runtime = await createRuntime(loadConfig(process.env));
const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
let go = false;
for await (const line of lines) {
  go = line === 'go';
  if (go) break;
}
lines.close();
if (!go) {
  // The parent went away before the start: nothing is sent.
  await runtime.close();
  process.exit(2);
}
const startedAt = Date.now();
const answers: { id: string; ok: boolean; code: string | null; replayed: boolean }[] = new Array(commands.length);
let next = 0;
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    while (next < commands.length) {
      const index = next++;
      const { outcome, replayed } = await runtime.engine.execute(commands[index] as Command);
      answers[index] = {
        id: outcome.commandId,
        ok: outcome.ok,
        code: outcome.ok ? null : outcome.error.code,
        replayed,
      };
    }
  }),
);
const finishedAt = Date.now();
process.stdout.write(`${JSON.stringify({ answers, stats: runtime.engine.stats, startedAt, finishedAt })}\n`);
await runtime.close();
