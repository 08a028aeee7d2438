import { type Config, configTable, loadConfig } from '../config.js';
import { createRuntime, type Runtime } from '../runtime.js';
import { formatReport, verify } from '../verify/verify.js';
import { seed } from './seed.js';

const usage = `Usage: skuld <command> [options]

Commands:
  serve     run the HTTP API (migrates; seeds demo data into an empty store unless --seed off)
  migrate   apply database migrations and exit
  verify    rebuild every level from the ledger, compare with the stored state; exit 1 on mismatch
  seed      add the demo items and stock (idempotent)
  config    print every setting with its environment variable, flag and default

Options: every setting has a flag, see \`skuld config\`.`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(usage);
    return command === undefined ? 2 : 0;
  }
  const config = loadConfig(process.env, rest);
  switch (command) {
    case 'serve':
      return serve(config);
    case 'migrate':
      return withRuntime(inThisThread(config), async () => {
        console.log('migrations applied');
        return 0;
      });
    case 'verify':
      return withRuntime(inThisThread(config), async (runtime) => {
        const report = await verify(runtime.store);
        console.log(formatReport(report));
        return report.ok ? 0 : 1;
      });
    case 'seed':
      return withRuntime(config, async (runtime) => {
        console.log(`seeded: ${await seed(runtime.engine)} commands applied`);
        return 0;
      });
    case 'config':
      console.log(configTable());
      return 0;
    default:
      console.error(`unknown command ${command}\n\n${usage}`);
      return 2;
  }
}

/** Commands that write little or nothing need no thread of their own for the write path. */
function inThisThread(config: Config): Config {
  return { ...config, engineThread: 'off' };
}

async function withRuntime(config: Config, work: (runtime: Runtime) => Promise<number>): Promise<number> {
  const runtime = await createRuntime(config);
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}

async function serve(config: Config): Promise<number> {
  const { buildApp } = await import('../api/app.js');
  const runtime = await createRuntime(config);
  if (config.seed === 'auto' && (await runtime.store.headPosition()) === 0) {
    const applied = await seed(runtime.engine);
    if (applied > 0) console.log(`seeded demo data (${applied} commands)`);
  }
  const app = await buildApp({ runtime, logger: { level: config.logLevel } });
  const address = await app.listen({ host: config.host, port: config.port });
  runtime.sweeper.start();
  const base = address.replace('://0.0.0.0', '://127.0.0.1').replace('://[::]', '://[::1]');
  console.log(`Skuld is serving on ${base} (store: ${runtime.store.dialect})`);
  console.log(`  API:      ${base}/v1`);
  console.log(`  API docs: ${base}/docs`);
  console.log(`  health:   ${base}/healthz, ${base}/readyz`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // Stop taking requests, answer what the engine holds, then close the store.
  await app.close();
  await runtime.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`skuld: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
