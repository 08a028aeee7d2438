import { createRuntime, type Runtime } from '../compose/runtime.js';
import { type Config, describeConfig, resolveConfig } from '../config.js';
import { StartupError } from '../startup-error.js';
import { StoreError } from '../store/port.js';
import { formatRebuild, type RebuildProgress, rebuild } from '../verify/rebuild.js';
import { formatReport, type VerifyProgress, verify } from '../verify/verify.js';
import {
  type CountsAction,
  countsUsage,
  parseCountsArgs,
  parseReconciliationArgs,
  reconciliationUsage,
  runCounts,
} from './counts.js';
import { dlqConfig, dlqUsage, parseDlqArgs, runDlq } from './dlq.js';
import { keysUsage, parseKeysArgs, runKeys } from './keys.js';
import { parseProjectionsArgs, projectionsUsage, runProjections } from './projections.js';
import { seed } from './seed.js';
import {
  advertised,
  checkAddressFree,
  firstKeyIfNone,
  grpcPortSetting,
  listenError,
  printBanner,
  printFirstKey,
  readTls,
  seedIfEmpty,
  untilStopped,
  warnIfOpenReads,
} from './serve.js';

const usage = `Usage: skuld <command> [options]

Commands:
  serve     run the HTTP API (migrates; seeds demo data into an empty store unless --seed off)
  migrate   apply database migrations and exit
  verify    rebuild every level from the ledger, compare with the stored state; exit 1 on mismatch
  rebuild   recompute every level from the ledger alone into a table aside, then swap it in
  seed      add the demo items and stock (idempotent)
  config    print every setting in force: its variable, flag, value and where it came from
  keys      API keys: create, list, revoke (skuld keys --help)
  projections  the read models: rebuild, catch-up, status (skuld projections --help)
  dlq       the returns' dead letters on RabbitMQ: list, show, replay (skuld dlq --help)
  counts    import a physical count sheet (CSV) as counts with reasons (skuld counts --help)
  reconciliation  the reports of count sheets and verify runs; run verify now (skuld reconciliation --help)
  orders    run the order service (its own database; reserves, commits and releases over gRPC)
  purchases run the purchase service (its own database; purchase orders, receipts into the inventory over gRPC)
  system    run the whole system: N inventory instances and the order service, until Ctrl-C
  simulate  a storefront and a receiving dock against the running system, then a report and verify (skuld simulate --help)
  relay     publish committed events to the destinations of SKULD_RELAY until stopped, without serving HTTP

Options: every setting has a flag, see \`skuld config\`. Flags override environment variables.`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(usage);
    return command === undefined ? 2 : 0;
  }
  if (command === 'keys') return keys(rest);
  if (command === 'simulate') return simulateCommand(rest);
  if (command === 'projections') return projections(rest);
  if (command === 'dlq') return dlq(rest);
  if (command === 'counts') return counts(rest, countsUsage, parseCountsArgs);
  if (command === 'reconciliation') return counts(rest, reconciliationUsage, parseReconciliationArgs);
  const resolved = resolveConfig(process.env, rest);
  const { config } = resolved;
  switch (command) {
    case 'serve':
      return serve(config);
    case 'orders':
      return (await import('./services.js')).serveOrders(config);
    case 'purchases':
      return (await import('./services.js')).servePurchases(config);
    case 'system':
      return (await import('./system.js')).runSystem(config, rest);
    case 'migrate':
      return withRuntime(inThisThread(config), async () => {
        console.log('migrations applied');
        return 0;
      });
    case 'relay':
      return withRuntime(inThisThread(config), async (runtime) => {
        runtime.relays.start();
        console.log(`relaying to ${config.relay.join(', ') || 'nowhere'} until stopped`);
        await untilStopped();
        return 0;
      });
    case 'rebuild':
      return withRuntime(inThisThread(config), async (runtime) => {
        const report = await rebuild(runtime.store, progressOnStderr('rebuild'));
        if (process.stderr.isTTY === true) process.stderr.write('\n');
        console.log(formatRebuild(report));
        return 0;
      });
    case 'verify':
      return withRuntime(inThisThread(config), async (runtime) => {
        const started = Date.now();
        const report = await verify(runtime.store, progressOnStderr('verify'));
        if (process.stderr.isTTY === true) process.stderr.write('\n');
        console.log(formatReport(report));
        console.log(`  time:                  ${eventsPerSecond(report.events, Date.now() - started)}`);
        return report.ok ? 0 : 1;
      });
    case 'seed':
      return withRuntime(config, async (runtime) => {
        console.log(`seeded: ${await seed(runtime.engine)} commands applied`);
        return 0;
      });
    case 'config':
      console.log(describeConfig(resolved));
      return 0;
    default:
      console.error(`unknown command ${command}\n\n${usage}`);
      return 2;
  }
}

async function simulateCommand(args: readonly string[]): Promise<number> {
  const { parseSimulateArgs, simulate, simulateUsage } = await import('./simulate.js');
  if (args.includes('--help')) {
    console.log(simulateUsage);
    return 0;
  }
  const { options, rest } = parseSimulateArgs(args);
  return simulate(resolveConfig(process.env, rest).config, options, rest);
}

/** How long a pass over the ledger took, and its rate. */
function eventsPerSecond(events: number, elapsedMs: number): string {
  return `${(elapsedMs / 1000).toFixed(1)} s (${perSecond(events, elapsedMs)} events/s)`;
}

function perSecond(events: number, elapsedMs: number): string {
  return (elapsedMs === 0 ? events : Math.round((events * 1000) / elapsedMs)).toLocaleString('en-US');
}

/** Progress on stderr: one line rewritten in place on a terminal, a line a page otherwise. */
function progressOnStderr(label: string): (progress: VerifyProgress | RebuildProgress) => void {
  const terminal = process.stderr.isTTY === true;
  let last = '';
  const started = Date.now();
  return ({ phase, done, total }) => {
    // The rate only on a terminal: a log of the lines stays the same from run to run.
    const rate = terminal && phase === 'ledger' ? ` (${perSecond(done, Date.now() - started)} events/s)` : '';
    const line = `${label}: ${phase} ${done.toLocaleString('en-US')}${total === undefined ? '' : ` of ${total.toLocaleString('en-US')}`}${rate}`;
    if (terminal) process.stderr.write(`\r${line.padEnd(last.length)}`);
    else process.stderr.write(`${line}\n`);
    last = line;
  };
}

/** The HTTP server's timeouts and connection bound, as configured. */
function httpLimitsOf(config: Config) {
  return {
    headersTimeoutMs: config.httpHeadersTimeoutMs,
    requestTimeoutMs: config.httpRequestTimeoutMs,
    keepAliveTimeoutMs: config.httpKeepAliveTimeoutMs,
    idleTimeoutMs: config.httpIdleTimeoutMs,
    connectionsMax: config.httpConnectionsMax,
  };
}

/** Commands that write little or nothing need no thread of their own for the write path. */
function inThisThread(config: Config): Config {
  return { ...config, engineThread: 'off', projector: 'off' };
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
  await checkAddressFree(config.host, config.port);
  const { grpcPort } = config;
  if (grpcPort !== 'off') await checkAddressFree(config.host, grpcPort, grpcPortSetting);
  const tls = readTls(config);
  const { apiAuth, buildApp } = await import('../api/app.js');
  const { startGrpcServer } = await import('../grpc/grpc-server.js');
  return withRuntime(config, async (runtime) => {
    await seedIfEmpty(config, runtime);
    const firstKey = await firstKeyIfNone(runtime);
    // One authentication and one rate-limit budget per principal, whichever port it calls.
    const auth = apiAuth(runtime, runtime.log);
    const logger = { level: config.logLevel };
    const app = await buildApp({ runtime, logger, limits: httpLimitsOf(config), tls, auth });
    let grpc: Awaited<ReturnType<typeof startGrpcServer>> | undefined;
    try {
      const address = await app.listen({ host: config.host, port: config.port }).catch((error: unknown) => {
        throw listenError(error, config.host, config.port);
      });
      if (grpcPort !== 'off') {
        const options = { runtime, auth, log: runtime.log, host: config.host, port: grpcPort, tls };
        grpc = await startGrpcServer(options).catch((error: unknown) => {
          throw listenError(error, config.host, grpcPort, grpcPortSetting);
        });
      }
      runtime.sweeper.start();
      runtime.events.start();
      runtime.relays.start();
      runtime.ops.start({ httpUrl: advertised(address), grpcUrl: grpc === undefined ? null : advertised(grpc.url) });
      if (firstKey !== undefined) printFirstKey(firstKey, address);
      printBanner(address, runtime, grpc?.url);
      warnIfOpenReads(config, runtime);
      await untilStopped();
    } finally {
      // Stop taking requests and calls, and answer what the engine holds; the store closes after.
      // The app closes the authentication the gRPC server shares, so it closes last.
      await grpc?.close();
      await app.close();
    }
    return 0;
  });
}

async function keys(args: readonly string[]): Promise<number> {
  if (args[0] === undefined || args[0] === '--help' || args[0] === 'help') {
    console.log(keysUsage);
    return args[0] === undefined ? 2 : 0;
  }
  const { action, rest } = parseKeysArgs(args);
  return withRuntime(inThisThread(resolveConfig(process.env, rest).config), (runtime) => runKeys(runtime, action));
}

async function dlq(args: readonly string[]): Promise<number> {
  if (args[0] === undefined || args[0] === '--help' || args[0] === 'help') {
    console.log(dlqUsage);
    return args[0] === undefined ? 2 : 0;
  }
  const { action, rest } = parseDlqArgs(args);
  return runDlq(dlqConfig(rest), action);
}

async function counts(
  args: readonly string[],
  usage: string,
  parse: (args: readonly string[]) => { action: CountsAction; rest: string[] },
): Promise<number> {
  if (args[0] === undefined || args[0] === '--help' || args[0] === 'help') {
    console.log(usage);
    return args[0] === undefined ? 2 : 0;
  }
  const { action, rest } = parse(args);
  return withRuntime(inThisThread(resolveConfig(process.env, rest).config), (runtime) => runCounts(runtime, action));
}

async function projections(args: readonly string[]): Promise<number> {
  if (args[0] === undefined || args[0] === '--help' || args[0] === 'help') {
    console.log(projectionsUsage);
    return args[0] === undefined ? 2 : 0;
  }
  const { action, rest } = parseProjectionsArgs(args);
  return runProjections(resolveConfig(process.env, rest).config, action);
}

/** `CODE: message`, the code stable for scripts and the message for people. */
function describeFailure(error: unknown): string {
  if (error instanceof StartupError) return `${error.code}: ${error.message}`;
  if (error instanceof StoreError) {
    const code = error.kind === 'unavailable' ? 'STORE_UNAVAILABLE' : 'STORE_FAILED';
    return `${code}: ${error.message}${error.code === undefined ? '' : ` (${error.code})`}`;
  }
  return `INTERNAL: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`skuld: ${describeFailure(error)}`);
    process.exitCode = 1;
  },
);
