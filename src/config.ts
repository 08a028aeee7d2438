import { resolve } from 'node:path';
import { Cron } from 'croner';
import { StartupError } from './startup-error.js';

// Configuration is read here and nowhere else: environment variables, overridden by the CLI's
// flags. Every setting is validated; the README's table lists the same settings (a test keeps
// them equal), and `skuld config` prints the value in force of each and where it came from.

interface Setting<T> {
  readonly env: string;
  readonly flag: string;
  readonly default: T;
  readonly description: string;
  readonly parse: (raw: string) => T;
  /** A credential: `skuld config` shows whether it is set, never its value. */
  readonly secret?: true;
}

function integer(min: number, max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new Error(`expected an integer from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  };
}

function oneOf<T extends string>(...values: T[]) {
  return (raw: string): T => {
    if (!(values as string[]).includes(raw)) throw new Error(`expected one of ${values.join(', ')}, got "${raw}"`);
    return raw as T;
  };
}

function fraction(min: number, max: number) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!/^[0-9.]+$/.test(raw) || !Number.isFinite(value) || value < min || value > max) {
      throw new Error(`expected a number from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  };
}

const text = (raw: string) => raw;

export const relayDestinations = ['in-process', 'rabbitmq', 'nats'] as const;
export type RelayDestination = (typeof relayDestinations)[number];

export const settings = {
  databaseUrl: {
    env: 'SKULD_DATABASE_URL',
    flag: '--database-url',
    default: 'sqlite:./data/skuld.db',
    description:
      'Store: `sqlite:<file>` (embedded), `postgres://user@host:port/db` or `mysql://user@host:port/db` (MySQL/MariaDB; `?flags=-LOCAL_FILES` keeps batches off `LOAD DATA LOCAL`); a missing PostgreSQL or MySQL database is created',
    parse: text,
  },
  databaseSchema: {
    env: 'SKULD_DATABASE_SCHEMA',
    flag: '--database-schema',
    default: '',
    description:
      'PostgreSQL schema for the tables (empty: the server search_path); for MySQL/MariaDB the database (empty: the one in the URL)',
    parse: (raw: string) => {
      if (raw !== '' && !/^[a-z_][a-z0-9_]{0,62}$/.test(raw)) throw new Error(`not a plain schema name: "${raw}"`);
      return raw;
    },
  },
  databaseConnectionsMax: {
    env: 'SKULD_DATABASE_CONNECTIONS_MAX',
    flag: '--database-connections-max',
    default: 8,
    description: 'PostgreSQL / MySQL pool size (one connection writes, the rest read)',
    parse: integer(2, 100),
  },
  sqliteSynchronous: {
    env: 'SKULD_SQLITE_SYNCHRONOUS',
    flag: '--sqlite-synchronous',
    default: 'FULL' as 'FULL' | 'NORMAL',
    description: 'SQLite durability: FULL syncs every commit; NORMAL may lose the last commits on power loss',
    parse: oneOf('FULL', 'NORMAL'),
  },
  sqliteCheckpointIntervalMs: {
    env: 'SKULD_SQLITE_CHECKPOINT_INTERVAL_MS',
    flag: '--sqlite-checkpoint-interval-ms',
    default: 250,
    description:
      'SQLite: how often a thread of its own copies the WAL back into the database file; 0: the writer does it inside its commits',
    parse: integer(0, 60_000),
  },
  sqliteHistoryIntervalMs: {
    env: 'SKULD_SQLITE_HISTORY_INTERVAL_MS',
    flag: '--sqlite-history-interval-ms',
    default: 20,
    description:
      "SQLite: how long the item history's indexing thread pauses once it has caught up with the ledger (its index is the file `<database>-history`); 0: no thread, and histories scan the ledger past the index",
    parse: integer(0, 60_000),
  },
  strategy: {
    env: 'SKULD_STRATEGY',
    flag: '--strategy',
    default: 'batched' as 'batched' | 'pessimistic' | 'optimistic' | 'redlock',
    description:
      'Write path: `batched` (many commands per transaction), `pessimistic` (one per transaction, sorted row locks), `optimistic` (version compare-and-set, retried), `redlock` (Redis locks + fencing token). SQLite: batched only',
    parse: oneOf('batched', 'pessimistic', 'optimistic', 'redlock'),
  },
  strategyRetryCountMax: {
    env: 'SKULD_STRATEGY_RETRY_COUNT_MAX',
    flag: '--strategy-retry-count-max',
    default: 16,
    description: 'Retries of a command that lost a compare-and-set or a lock, before CONCURRENCY_CONFLICT',
    parse: integer(0, 1000),
  },
  redisUrl: {
    env: 'SKULD_REDIS_URL',
    flag: '--redis-url',
    default: 'redis://127.0.0.1:6379',
    description:
      'Redis for the redlock strategy and the shared cache; setting it turns the shared cache on (unless SKULD_CACHE says otherwise)',
    parse: text,
  },
  amqpUrl: {
    env: 'SKULD_AMQP_URL',
    flag: '--amqp-url',
    default: '',
    description:
      'RabbitMQ (`amqp://user:password@host:port/vhost`) for the event relay and the returns queue; empty: neither uses RabbitMQ',
    parse: text,
  },
  natsUrl: {
    env: 'SKULD_NATS_URL',
    flag: '--nats-url',
    default: '',
    description: 'NATS with JetStream (`nats://host:port`) for the event relay; empty: the relay does not use NATS',
    parse: text,
  },
  relay: {
    env: 'SKULD_RELAY',
    flag: '--relay',
    default: ['in-process'] as readonly RelayDestination[],
    description:
      "Where committed events are published, comma-separated: `in-process` (this process's listeners), `rabbitmq` (SKULD_AMQP_URL), `nats` (SKULD_NATS_URL); `none`: nowhere",
    parse: (raw: string): readonly RelayDestination[] => {
      if (raw.trim() === 'none') return [];
      const destinations = raw.split(',').map((part) => oneOf(...relayDestinations)(part.trim()));
      if (new Set(destinations).size !== destinations.length) throw new Error('a destination is named twice');
      return destinations;
    },
  },
  relayLeaseTtlMs: {
    env: 'SKULD_RELAY_LEASE_TTL_MS',
    flag: '--relay-lease-ttl-ms',
    default: 10_000,
    description:
      'One instance relays to a broker at a time, by a lease in the store renewed every third of this; a dead holder is taken over after it',
    parse: integer(1_000, 600_000),
  },
  relayPublishTimeoutMs: {
    env: 'SKULD_RELAY_PUBLISH_TIMEOUT_MS',
    flag: '--relay-publish-timeout-ms',
    default: 5_000,
    description: 'A page of events the broker has not confirmed in this time has failed, and is published again',
    parse: integer(100, 600_000),
  },
  relayPageMax: {
    env: 'SKULD_RELAY_PAGE_MAX',
    flag: '--relay-page-max',
    default: 2_000,
    description: 'Most events the relay reads and publishes at once',
    parse: integer(1, 100_000),
  },
  relayPollMs: {
    env: 'SKULD_RELAY_POLL_MS',
    flag: '--relay-poll-ms',
    default: 50,
    description: 'How often an idle relay looks for new events: the most a committed event waits before it is read',
    parse: integer(1, 60_000),
  },
  relayAmqpExchange: {
    env: 'SKULD_RELAY_AMQP_EXCHANGE',
    flag: '--relay-amqp-exchange',
    default: 'skuld.events',
    description: 'The RabbitMQ topic exchange the relay publishes to (durable; routing key: the event type)',
    parse: text,
  },
  relayNatsStream: {
    env: 'SKULD_RELAY_NATS_STREAM',
    flag: '--relay-nats-stream',
    default: 'SKULD_EVENTS',
    description:
      "The JetStream stream the relay publishes to (created if missing; its sequence numbers are the ledger's positions)",
    parse: text,
  },
  relayNatsSubject: {
    env: 'SKULD_RELAY_NATS_SUBJECT',
    flag: '--relay-nats-subject',
    default: 'skuld.events',
    description: 'Events go to `<subject>.<event type>` in the stream',
    parse: text,
  },
  eventStreamClientsMax: {
    env: 'SKULD_EVENT_STREAM_CLIENTS_MAX',
    flag: '--event-stream-clients-max',
    default: 64,
    description:
      'Most clients of `GET /v1/events/stream` at once on this instance; beyond, 503 EVENT_STREAM_FULL with Retry-After',
    parse: integer(1, 10_000),
  },
  eventStreamHeartbeatMs: {
    env: 'SKULD_EVENT_STREAM_HEARTBEAT_MS',
    flag: '--event-stream-heartbeat-ms',
    default: 15_000,
    description:
      'The event stream sends a comment line this often, so proxies and clients know an idle stream is alive',
    parse: integer(100, 300_000),
  },
  eventStreamBufferBytesMax: {
    env: 'SKULD_EVENT_STREAM_BUFFER_BYTES_MAX',
    flag: '--event-stream-buffer-bytes-max',
    default: 1_048_576,
    description:
      'Most bytes an event stream client may leave unread; beyond that for two heartbeat intervals, it is disconnected (it resumes with Last-Event-ID)',
    parse: integer(65_536, 268_435_456),
  },
  redlockTtlMs: {
    env: 'SKULD_REDLOCK_TTL_MS',
    flag: '--redlock-ttl-ms',
    default: 2000,
    description: 'How long a Redis lock lasts if its holder stalls (the fencing token guards the rest)',
    parse: integer(10, 60_000),
  },
  cache: {
    env: 'SKULD_CACHE',
    flag: '--cache',
    default: 'local' as 'off' | 'local' | 'redis',
    description:
      'Stock reads: `off`: from the store; `local`: through an in-process cache (L1); `redis`: through L1, then Redis at SKULD_REDIS_URL (L2), shared by every instance, which also carries invalidations between them. Unset: `redis` when SKULD_REDIS_URL is set, `local` when not',
    parse: oneOf('off', 'local', 'redis'),
  },
  cacheL1TtlMs: {
    env: 'SKULD_CACHE_L1_TTL_MS',
    flag: '--cache-l1-ttl-ms',
    default: 1000,
    description: 'How long a stock read stays in the in-process cache (L1)',
    parse: integer(1, 600_000),
  },
  cacheL2TtlMs: {
    env: 'SKULD_CACHE_L2_TTL_MS',
    flag: '--cache-l2-ttl-ms',
    default: 5000,
    description: 'How long a stock read stays in Redis (L2)',
    parse: integer(1, 3_600_000),
  },
  cacheTtlJitterPercent: {
    env: 'SKULD_CACHE_TTL_JITTER_PERCENT',
    flag: '--cache-ttl-jitter-percent',
    default: 10,
    description: 'Each cached entry lives its TTL ± up to this share, so keys written together expire apart',
    parse: integer(0, 50),
  },
  cacheEntriesMax: {
    env: 'SKULD_CACHE_ENTRIES_MAX',
    flag: '--cache-entries-max',
    default: 100_000,
    description: 'Most entries in the in-process cache; the least recently used go first',
    parse: integer(16, 10_000_000),
  },
  cacheNegativeTtlMs: {
    env: 'SKULD_CACHE_NEGATIVE_TTL_MS',
    flag: '--cache-negative-ttl-ms',
    default: 1000,
    description: 'How long "no such item" is cached for a SKU the bloom filter let through',
    parse: integer(1, 600_000),
  },
  cacheBloomFalsePositiveRate: {
    env: 'SKULD_CACHE_BLOOM_FALSE_POSITIVE_RATE',
    flag: '--cache-bloom-false-positive-rate',
    default: 0.01,
    description:
      "Share of unknown SKUs the item bloom filter lets through to the cache and store; it sets the filter's size",
    parse: fraction(0.000_001, 0.5),
  },
  cacheStoreConcurrencyMax: {
    env: 'SKULD_CACHE_STORE_CONCURRENCY_MAX',
    flag: '--cache-store-concurrency-max',
    default: 4,
    description:
      'Most stock reads the cache sends to the store at once; beyond it a recent stale value is served, or the read waits',
    parse: integer(1, 1000),
  },
  cacheStaleMaxMs: {
    env: 'SKULD_CACHE_STALE_MAX_MS',
    flag: '--cache-stale-max-ms',
    default: 5000,
    description:
      'How long past its TTL an in-process value may still be served while the store limit is full (never to a read whose minPosition it does not meet)',
    parse: integer(0, 600_000),
  },
  cacheRedisTimeoutMs: {
    env: 'SKULD_CACHE_REDIS_TIMEOUT_MS',
    flag: '--cache-redis-timeout-ms',
    default: 100,
    description: 'Longest wait for one Redis call of the cache; a slower call counts as a failure for the breaker',
    parse: integer(1, 60_000),
  },
  cacheLockWaitMs: {
    env: 'SKULD_CACHE_LOCK_WAIT_MS',
    flag: '--cache-lock-wait-ms',
    default: 200,
    description:
      "How long an instance waits for another instance's load of the same key (a Redis lock) before reading the store itself",
    parse: integer(0, 60_000),
  },
  cacheBreakerOpenMs: {
    env: 'SKULD_CACHE_BREAKER_OPEN_MS',
    flag: '--cache-breaker-open-ms',
    default: 1000,
    description: 'How long the cache skips Redis after repeated failures before one call probes it again',
    parse: integer(10, 600_000),
  },
  host: { env: 'SKULD_HOST', flag: '--host', default: '127.0.0.1', description: 'HTTP listen address', parse: text },
  port: {
    env: 'SKULD_PORT',
    flag: '--port',
    default: 3000,
    description: 'HTTP port (0: any free port)',
    parse: integer(0, 65535),
  },
  grpcPort: {
    env: 'SKULD_GRPC_PORT',
    flag: '--grpc-port',
    default: 'off' as number | 'off',
    description:
      'gRPC port (HTTP/2 on SKULD_HOST, TLS when SKULD_TLS_CERT_FILE is set): the commands and reads of the HTTP API; 0: any free port; `off`: no gRPC',
    parse: (raw: string): number | 'off' => (raw === 'off' ? 'off' : integer(0, 65535)(raw)),
  },
  logLevel: {
    env: 'SKULD_LOG_LEVEL',
    flag: '--log-level',
    default: 'info' as 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent',
    description: 'Log level (pino)',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  logFormat: {
    env: 'SKULD_LOG_FORMAT',
    flag: '--log-format',
    default: 'json' as 'json' | 'pretty',
    description:
      '`json`: one JSON object a line (for log collectors); `pretty`: colored, one readable line a record with its fields below (for a terminal). JSON even on a terminal unless set',
    parse: oneOf('json', 'pretty'),
  },
  bodyLimitBytes: {
    env: 'SKULD_BODY_LIMIT_BYTES',
    flag: '--body-limit-bytes',
    default: 1_048_576,
    description: 'Largest HTTP request body',
    parse: integer(1024, 64 * 1_048_576),
  },
  httpHeadersTimeoutMs: {
    env: 'SKULD_HTTP_HEADERS_TIMEOUT_MS',
    flag: '--http-headers-timeout-ms',
    default: 10_000,
    description: "Time a client has to send a request's headers (408 REQUEST_TIMEOUT); at most the request timeout",
    parse: integer(100, 600_000),
  },
  httpRequestTimeoutMs: {
    env: 'SKULD_HTTP_REQUEST_TIMEOUT_MS',
    flag: '--http-request-timeout-ms',
    default: 30_000,
    description: 'Time a client has to send a whole request, headers and body (408 REQUEST_TIMEOUT)',
    parse: integer(100, 600_000),
  },
  httpKeepAliveTimeoutMs: {
    env: 'SKULD_HTTP_KEEP_ALIVE_TIMEOUT_MS',
    flag: '--http-keep-alive-timeout-ms',
    default: 72_000,
    description: 'How long an idle connection stays open after a response',
    parse: integer(100, 3_600_000),
  },
  httpIdleTimeoutMs: {
    env: 'SKULD_HTTP_IDLE_TIMEOUT_MS',
    flag: '--http-idle-timeout-ms',
    default: 60_000,
    description: 'A connection with no traffic either way for this long is closed',
    parse: integer(100, 3_600_000),
  },
  httpConnectionsMax: {
    env: 'SKULD_HTTP_CONNECTIONS_MAX',
    flag: '--http-connections-max',
    default: 8192,
    description: 'Most open HTTP connections; one more is closed as soon as it is accepted',
    parse: integer(1, 1_000_000),
  },
  httpBatchCommandsMax: {
    env: 'SKULD_HTTP_BATCH_COMMANDS_MAX',
    flag: '--http-batch-commands-max',
    default: 1000,
    description: 'Most commands in one POST /v1/batch request',
    parse: integer(1, 10_000),
  },
  authJwtSecret: {
    env: 'SKULD_AUTH_JWT_SECRET',
    flag: '--auth-jwt-secret',
    secret: true,
    default: '',
    description:
      'JWT bearer tokens signed with this shared secret (HS256, at least 32 characters) are accepted; empty: none',
    parse: (raw: string) => {
      if (raw.length < 32) throw new Error('a JWT secret needs at least 32 characters');
      return raw;
    },
  },
  authJwtPublicKeyFile: {
    env: 'SKULD_AUTH_JWT_PUBLIC_KEY_FILE',
    flag: '--auth-jwt-public-key-file',
    default: '',
    description: "JWT bearer tokens signed with this public key's private key (a PEM file, SPKI) are accepted",
    parse: text,
  },
  authJwtJwksUrl: {
    env: 'SKULD_AUTH_JWT_JWKS_URL',
    flag: '--auth-jwt-jwks-url',
    default: '',
    description:
      "JWT bearer tokens signed by a key of this JWKS (the identity provider's key set, fetched and cached) are accepted",
    parse: text,
  },
  authJwtIssuer: {
    env: 'SKULD_AUTH_JWT_ISSUER',
    flag: '--auth-jwt-issuer',
    default: '',
    description: 'The `iss` every JWT must carry (required with a JWT key)',
    parse: text,
  },
  authJwtAudience: {
    env: 'SKULD_AUTH_JWT_AUDIENCE',
    flag: '--auth-jwt-audience',
    default: '',
    description: 'The `aud` every JWT must carry (required with a JWT key)',
    parse: text,
  },
  authJwtAlgorithms: {
    env: 'SKULD_AUTH_JWT_ALGORITHMS',
    flag: '--auth-jwt-algorithms',
    default: '',
    description:
      'The only JWT algorithms accepted, comma-separated; empty: HS256 with a secret, RS256,ES256,EdDSA with a public key or JWKS (a secret never verifies an asymmetric algorithm, nor a public key HS*)',
    parse: text,
  },
  authKeyCacheMs: {
    env: 'SKULD_AUTH_KEY_CACHE_MS',
    flag: '--auth-key-cache-ms',
    default: 5000,
    description:
      'How long a server trusts an API key it has looked up; a key revoked by another process is refused within this time (at once by this one)',
    parse: integer(0, 300_000),
  },
  authReadyz: {
    env: 'SKULD_AUTH_READYZ',
    flag: '--auth-readyz',
    default: 'open' as 'open' | 'credential',
    description: '`open`: /readyz needs no credential (for orchestrators); `credential`: it needs the `ops:read` scope',
    parse: oneOf('open', 'credential'),
  },
  authMetrics: {
    env: 'SKULD_AUTH_METRICS',
    flag: '--auth-metrics',
    default: 'credential' as 'open' | 'credential',
    description: '`credential`: /metrics needs the `ops:read` scope; `open`: none',
    parse: oneOf('open', 'credential'),
  },
  devOpenReads: {
    env: 'SKULD_DEV_OPEN_READS',
    flag: '--dev-open-reads',
    default: 'off' as 'off' | 'loopback',
    description:
      'DEVELOPMENT ONLY. `loopback`: reads (GET) from this machine need no credential, and the server says so loudly; changes always need one',
    parse: oneOf('off', 'loopback'),
  },
  rateLimitPerSecond: {
    env: 'SKULD_RATE_LIMIT_PER_SECOND',
    flag: '--rate-limit-per-second',
    default: 2000,
    description:
      'Requests a principal may make per second, sustained (a token bucket; a batch costs one per command); beyond: 429 RATE_LIMITED',
    parse: integer(1, 10_000_000),
  },
  rateLimitBurst: {
    env: 'SKULD_RATE_LIMIT_BURST',
    flag: '--rate-limit-burst',
    default: 4000,
    description: "The bucket's size: requests a principal may make at once after a quiet spell",
    parse: integer(1, 10_000_000),
  },
  rateLimitRedisUrl: {
    env: 'SKULD_RATE_LIMIT_REDIS_URL',
    flag: '--rate-limit-redis-url',
    default: '',
    description:
      'Redis that holds the buckets, so that every instance draws on one budget; empty, or Redis unreachable: each process keeps its own',
    parse: text,
  },
  rateLimitRedisPrefix: {
    env: 'SKULD_RATE_LIMIT_REDIS_PREFIX',
    flag: '--rate-limit-redis-prefix',
    default: 'skuld:',
    description:
      "What the limits' Redis keys begin with: instances that share a budget use the same prefix, deployments sharing one Redis different ones",
    parse: text,
  },
  authFailuresPerMinute: {
    env: 'SKULD_AUTH_FAILURES_PER_MINUTE',
    flag: '--auth-failures-per-minute',
    default: 60,
    description:
      "Failed authentications allowed per source address per minute (shared through the rate limits' Redis like their buckets); beyond, 429 RATE_LIMITED before any check",
    parse: integer(1, 1_000_000),
  },
  corsOrigins: {
    env: 'SKULD_CORS_ORIGINS',
    flag: '--cors-origins',
    default: '',
    description:
      'Origins (comma-separated, e.g. `https://ops.example.com`) whose browser pages may call the API; empty: CORS off',
    parse: (raw: string) => {
      for (const origin of raw.split(',')) {
        if (!/^https?:\/\/[^/\s,]+$/.test(origin.trim())) throw new Error(`not an origin: "${origin}"`);
      }
      return raw;
    },
  },
  tlsCertFile: {
    env: 'SKULD_TLS_CERT_FILE',
    flag: '--tls-cert-file',
    default: '',
    description: 'HTTPS: the certificate chain (PEM file); with SKULD_TLS_KEY_FILE. Empty: plain HTTP',
    parse: text,
  },
  tlsKeyFile: {
    env: 'SKULD_TLS_KEY_FILE',
    flag: '--tls-key-file',
    default: '',
    description: "HTTPS: the certificate's private key (PEM file)",
    parse: text,
  },
  engineThread: {
    env: 'SKULD_ENGINE_THREAD',
    flag: '--engine-thread',
    default: 'on' as 'on' | 'off',
    description:
      '`on`: the write path (engine, its store connections, strategy) runs on a thread of its own, beside the thread serving HTTP and reads; `off`: on that thread',
    parse: oneOf('on', 'off'),
  },
  engineYoungGenerationMb: {
    env: 'SKULD_ENGINE_YOUNG_GENERATION_MB',
    flag: '--engine-young-generation-mb',
    default: 96,
    description:
      "The engine thread's young generation (MiB): the V8 heap space its short-lived objects are collected from; every batch makes thousands. 0: V8's default",
    parse: integer(0, 4096),
  },
  batchSizeMax: {
    env: 'SKULD_BATCH_SIZE_MAX',
    flag: '--batch-size-max',
    default: 2048,
    description: 'Most commands the engine decides in one transaction',
    parse: integer(1, 65_536),
  },
  batchWaitMs: {
    env: 'SKULD_BATCH_WAIT_MS',
    flag: '--batch-wait-ms',
    default: 0,
    description: 'How long an idle engine waits for more commands before a batch (0: next tick)',
    parse: integer(0, 1000),
  },
  queueDepthMax: {
    env: 'SKULD_QUEUE_DEPTH_MAX',
    flag: '--queue-depth-max',
    default: 100_000,
    description: 'Most commands waiting for a batch before OVERLOADED',
    parse: integer(1, 10_000_000),
  },
  reservationTtlMsDefault: {
    env: 'SKULD_RESERVATION_TTL_MS',
    flag: '--reservation-ttl-ms',
    default: 15 * 60_000,
    description: 'Reservation TTL when a request names none',
    parse: integer(1, 365 * 24 * 60 * 60_000),
  },
  reservationTtlMsMax: {
    env: 'SKULD_RESERVATION_TTL_MS_MAX',
    flag: '--reservation-ttl-ms-max',
    default: 24 * 60 * 60_000,
    description: 'Longest TTL a reservation may ask for',
    parse: integer(1, 365 * 24 * 60 * 60_000),
  },
  sweepIntervalMs: {
    env: 'SKULD_SWEEP_INTERVAL_MS',
    flag: '--sweep-interval-ms',
    default: 1000,
    description: 'How often unpaid reservations past their TTL are expired',
    parse: integer(10, 3_600_000),
  },
  heartbeatIntervalMs: {
    env: 'SKULD_HEARTBEAT_INTERVAL_MS',
    flag: '--heartbeat-interval-ms',
    default: 2000,
    description:
      'How often an inventory instance records its heartbeat in the store (GET /v1/instances: unhealthy after three missed) and samples the gauges read from the store (reservations pending, sweeper, relay and projection lag)',
    parse: integer(100, 60_000),
  },
  sweepBatchMax: {
    env: 'SKULD_SWEEP_BATCH_MAX',
    flag: '--sweep-batch-max',
    default: 1000,
    description: 'Most reservations expired per sweep',
    parse: integer(1, 100_000),
  },
  readDatabaseUrl: {
    env: 'SKULD_READ_DATABASE_URL',
    flag: '--read-database-url',
    default: '',
    description:
      'Read models (CQRS): `sqlite:<file>` or `postgres://user@host:port/db` (a database of their own, created if missing). Empty: `sqlite:<store file>-read` beside a SQLite store, else `sqlite:./data/skuld-read.db`',
    parse: text,
  },
  projector: {
    env: 'SKULD_PROJECTOR',
    flag: '--projector',
    default: 'on' as 'on' | 'off',
    description:
      '`on`: this process keeps the read models from the ledger (a projector on a thread of its own); `off`: it only reads them',
    parse: oneOf('on', 'off'),
  },
  projectorPageEventsMax: {
    env: 'SKULD_PROJECTOR_PAGE_EVENTS_MAX',
    flag: '--projector-page-events-max',
    default: 5000,
    description: 'Most ledger events the projector applies in one transaction of the read database',
    parse: integer(1, 100_000),
  },
  projectorIdleMs: {
    env: 'SKULD_PROJECTOR_IDLE_MS',
    flag: '--projector-idle-ms',
    default: 20,
    description: 'How long the projector pauses once it has caught up with the ledger',
    parse: integer(1, 60_000),
  },
  readWaitMsMax: {
    env: 'SKULD_READ_WAIT_MS_MAX',
    flag: '--read-wait-ms-max',
    default: 2000,
    description:
      'Longest a read-model query waits for its `minPosition` (or `position`) to be projected; beyond, 503 READ_MODEL_BEHIND',
    parse: integer(0, 60_000),
  },
  readSnapshotIntervalEvents: {
    env: 'SKULD_READ_SNAPSHOT_INTERVAL_EVENTS',
    flag: '--read-snapshot-interval-events',
    default: 64,
    description:
      "A level's point-in-time snapshot is taken every this many of its events: a stock read at a past time replays at most about as many",
    parse: integer(1, 100_000),
  },
  lowStockThresholdDefault: {
    env: 'SKULD_LOW_STOCK_THRESHOLD_DEFAULT',
    flag: '--low-stock-threshold-default',
    default: 0,
    description:
      'Low-stock threshold of an item registered without one: available stock below it is low (GET /v1/low-stock). 0: none',
    parse: integer(0, 1_000_000_000),
  },
  seed: {
    env: 'SKULD_SEED',
    flag: '--seed',
    default: 'auto' as 'auto' | 'off',
    description: '`auto`: seed demo items and stock when the store is empty; `off`: never',
    parse: oneOf('auto', 'off'),
  },
  returnsQueue: {
    env: 'SKULD_RETURNS_QUEUE',
    flag: '--returns-queue',
    default: 'skuld.returns',
    description:
      'RabbitMQ quorum queue that `skuld serve` takes returns from (with SKULD_AMQP_URL); beside it `<queue>.retry.<delay>ms` (backoff) and `<queue>.dead` (dead letters, `skuld dlq`)',
    parse: (raw: string) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$/.test(raw)) throw new Error(`not a plain queue name: "${raw}"`);
      return raw;
    },
  },
  returnsAttemptsMax: {
    env: 'SKULD_RETURNS_ATTEMPTS_MAX',
    flag: '--returns-attempts-max',
    default: 5,
    description:
      'Attempts at a return message that keeps failing (an unknown item, the store out of reach) before it goes to the dead-letter queue',
    parse: integer(1, 100),
  },
  returnsRetryDelaysMs: {
    env: 'SKULD_RETURNS_RETRY_DELAYS_MS',
    flag: '--returns-retry-delays-ms',
    default: [1000, 10_000, 60_000] as readonly number[],
    description:
      'Waits before the 2nd, 3rd… attempt at a failed return message (comma-separated, ms; each a retry queue); later attempts wait the last',
    parse: (raw: string): readonly number[] => {
      const delays = raw.split(',').map((part) => integer(1, 86_400_000)(part.trim()));
      if (delays.length > 10) throw new Error('at most 10 delays');
      return delays;
    },
  },
  returnsConcurrency: {
    env: 'SKULD_RETURNS_CONCURRENCY',
    flag: '--returns-concurrency',
    default: 16,
    description: 'Return messages handled at once (twice as many are prefetched)',
    parse: integer(1, 1000),
  },
  reconcileSchedule: {
    env: 'SKULD_RECONCILE_SCHEDULE',
    flag: '--reconcile-schedule',
    default: '',
    description:
      'When `skuld serve` runs the reconciliation (verify, recorded as a report): an interval in ms (at least 1000) or a cron expression (`0 3 * * *`, server time); one instance of a cluster runs it. Empty: never',
    parse: (raw: string) => {
      if (/^[0-9]+$/.test(raw)) return String(integer(1000, 31 * 86_400_000)(raw));
      try {
        new Cron(raw, { paused: true }).stop();
      } catch (error) {
        throw new Error(`neither an interval in ms nor a cron expression: ${(error as Error).message}`);
      }
      return raw;
    },
  },
  inventoryGrpcUrls: {
    env: 'SKULD_INVENTORY_GRPC_URLS',
    flag: '--inventory-grpc-urls',
    default: ['http://127.0.0.1:50051'] as readonly string[],
    description:
      'The order and purchase services: gRPC URLs of the inventory instances (comma-separated), called round-robin, an instance that fails skipped for a while',
    parse: (raw: string): readonly string[] => {
      const urls = raw.split(',').map((url) => url.trim());
      for (const url of urls) {
        if (!/^https?:\/\/[^/\s]+\/?$/.test(url)) throw new Error(`expected http(s)://host:port, got "${url}"`);
      }
      return urls;
    },
  },
  inventoryKey: {
    env: 'SKULD_INVENTORY_KEY',
    flag: '--inventory-key',
    secret: true,
    default: '',
    description:
      'The order and purchase services: the credential they present to the inventory (an API key of role `orders` or `purchasing`, or a token)',
    parse: text,
  },
  inventoryCallTimeoutMs: {
    env: 'SKULD_INVENTORY_CALL_TIMEOUT_MS',
    flag: '--inventory-call-timeout-ms',
    default: 5000,
    description: 'The order and purchase services: the deadline of each call to an inventory instance',
    parse: integer(100, 600_000),
  },
  ordersPort: {
    env: 'SKULD_ORDERS_PORT',
    flag: '--orders-port',
    default: 3100,
    description: 'The order service (`skuld orders`): its HTTP port (0: any free port)',
    parse: integer(0, 65535),
  },
  ordersDatabaseUrl: {
    env: 'SKULD_ORDERS_DATABASE_URL',
    flag: '--orders-database-url',
    default: 'sqlite:./data/orders.db',
    description: 'The order service: its own database, `sqlite:<file>` or `postgres://user@host:port/db`',
    parse: text,
  },
  purchasesPort: {
    env: 'SKULD_PURCHASES_PORT',
    flag: '--purchases-port',
    default: 3200,
    description: 'The purchase service (`skuld purchases`): its HTTP port (0: any free port)',
    parse: integer(0, 65535),
  },
  purchasesDatabaseUrl: {
    env: 'SKULD_PURCHASES_DATABASE_URL',
    flag: '--purchases-database-url',
    default: 'sqlite:./data/purchases.db',
    description: 'The purchase service: its own database, `sqlite:<file>` or `postgres://user@host:port/db`',
    parse: text,
  },
  systemInstances: {
    env: 'SKULD_SYSTEM_INSTANCES',
    flag: '--system-instances',
    default: 0,
    description:
      '`skuld system`: how many inventory instances it starts (HTTP on SKULD_PORT + n, gRPC on SKULD_GRPC_PORT (or 50051) + n); 0: 3 on PostgreSQL or MySQL, 1 on an embedded SQLite file (which serves one)',
    parse: integer(0, 16),
  },
  ordersPaymentWindowMs: {
    env: 'SKULD_ORDERS_PAYMENT_WINDOW_MS',
    flag: '--orders-payment-window-ms',
    default: 900_000,
    description:
      "The order service: how long an order may stay unpaid (its reservation's TTL; at most the inventory's SKULD_RESERVATION_TTL_MS_MAX); then it expires",
    parse: integer(1000, 7 * 86_400_000),
  },
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof settings;
export type Config = { readonly [K in keyof Settings]: Settings[K]['default'] };

export type StoreConfig =
  | {
      readonly kind: 'sqlite';
      readonly path: string;
      readonly synchronous: 'FULL' | 'NORMAL';
      readonly checkpointIntervalMs: number;
      readonly historyIntervalMs: number;
    }
  | {
      readonly kind: 'postgres';
      readonly url: string;
      readonly schema: string | undefined;
      readonly connectionsMax: number;
    }
  | { readonly kind: 'mysql'; readonly url: string; readonly database: string; readonly connectionsMax: number };

/** Where a setting's value in force came from. */
export type SettingSource = 'default' | 'env' | 'flag';

export interface ResolvedConfig {
  readonly config: Config;
  readonly sources: { readonly [K in keyof Config]: SettingSource };
}

/** Reads the environment, then the flags (`--port 3001` or `--port=3001`); throws CONFIG_INVALID. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = []): Config {
  return resolveConfig(env, argv).config;
}

/** The configuration in force, and where each value came from. */
export function resolveConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = []): ResolvedConfig {
  const flags = parseFlags(argv);
  const config: Record<string, unknown> = {};
  const sources: Record<string, SettingSource> = {};
  for (const [key, setting] of Object.entries(settings) as [string, Setting<unknown>][]) {
    const flag = flags.get(setting.flag);
    const raw = flag ?? env[setting.env];
    if (raw === undefined || raw === '') {
      config[key] = setting.default;
      sources[key] = 'default';
      continue;
    }
    try {
      config[key] = setting.parse(raw);
    } catch (error) {
      throw invalid(`${setting.env} / ${setting.flag}: ${(error as Error).message}`);
    }
    sources[key] = flag === undefined ? 'env' : 'flag';
  }
  const result = config as Config;
  // A Redis given is a Redis used for reads too, unless SKULD_CACHE says otherwise; none given,
  // reads have L1 alone (the URL's default is only where the redlock strategy looks for one).
  if (sources.cache === 'default' && sources.redisUrl !== 'default') config.cache = 'redis';
  if (result.reservationTtlMsDefault > result.reservationTtlMsMax) {
    throw invalid('SKULD_RESERVATION_TTL_MS must not exceed SKULD_RESERVATION_TTL_MS_MAX');
  }
  if (result.httpHeadersTimeoutMs > result.httpRequestTimeoutMs) {
    throw invalid('SKULD_HTTP_HEADERS_TIMEOUT_MS must not exceed SKULD_HTTP_REQUEST_TIMEOUT_MS');
  }
  checkSecurity(result);
  storeConfig(result);
  readDatabaseConfig(result);
  return { config: result, sources: sources as ResolvedConfig['sources'] };
}

const invalid = (message: string) => new StartupError('CONFIG_INVALID', message);

/** Settings that only make sense together. */
function checkSecurity(config: Config): void {
  const jwtKeys = [config.authJwtSecret, config.authJwtPublicKeyFile, config.authJwtJwksUrl].filter((v) => v !== '');
  if (jwtKeys.length > 1) {
    throw invalid('SKULD_AUTH_JWT_SECRET, _PUBLIC_KEY_FILE and _JWKS_URL: set at most one (one source of JWT keys)');
  }
  if (jwtKeys.length === 1 && (config.authJwtIssuer === '' || config.authJwtAudience === '')) {
    throw invalid('SKULD_AUTH_JWT_ISSUER and SKULD_AUTH_JWT_AUDIENCE are required when JWTs are accepted');
  }
  const algorithms = config.authJwtAlgorithms === '' ? [] : config.authJwtAlgorithms.split(',').map((a) => a.trim());
  const symmetric = algorithms.filter((a) => /^HS(256|384|512)$/.test(a));
  if (algorithms.includes('none')) throw invalid('SKULD_AUTH_JWT_ALGORITHMS: `none` is never accepted');
  if (config.authJwtSecret !== '' && symmetric.length !== algorithms.length) {
    throw invalid('SKULD_AUTH_JWT_ALGORITHMS: a secret verifies only HS256, HS384 and HS512');
  }
  if (config.authJwtSecret === '' && symmetric.length > 0) {
    throw invalid('SKULD_AUTH_JWT_ALGORITHMS: a public key or JWKS verifies only asymmetric algorithms');
  }
  if ((config.tlsCertFile === '') !== (config.tlsKeyFile === '')) {
    throw invalid('SKULD_TLS_CERT_FILE and SKULD_TLS_KEY_FILE: set both, or neither');
  }
  if (config.rateLimitBurst < 1) throw invalid('SKULD_RATE_LIMIT_BURST must be at least 1');
}

function parseFlags(argv: readonly string[]): Map<string, string> {
  const known = new Set(Object.values(settings).map((s) => s.flag));
  const flags = new Map<string, string>();
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] as string;
    const [name, inline] = arg.includes('=')
      ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
      : [arg, undefined];
    if (!known.has(name)) throw invalid(`unknown option ${name} (every setting's flag: skuld config)`);
    const value = inline ?? argv[++index];
    if (value === undefined) throw invalid(`option ${name} needs a value`);
    flags.set(name, value);
  }
  return flags;
}

export function storeConfig(config: Config): StoreConfig {
  const url = config.databaseUrl;
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '' || path === ':memory:') throw invalid('SKULD_DATABASE_URL: sqlite: needs a file path');
    return {
      kind: 'sqlite',
      path: resolve(path),
      synchronous: config.sqliteSynchronous,
      checkpointIntervalMs: config.sqliteCheckpointIntervalMs,
      historyIntervalMs: config.sqliteHistoryIntervalMs,
    };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const schema = config.databaseSchema === '' ? undefined : config.databaseSchema;
    return { kind: 'postgres', url, schema, connectionsMax: config.databaseConnectionsMax };
  }
  if (url.startsWith('mysql://')) {
    const database = config.databaseSchema === '' ? databaseOf(url) : config.databaseSchema;
    if (database === '') throw invalid('SKULD_DATABASE_URL: mysql:// needs a database (mysql://user@host:port/db)');
    return { kind: 'mysql', url, database, connectionsMax: config.databaseConnectionsMax };
  }
  throw invalid(`SKULD_DATABASE_URL: unsupported store "${url}" (use sqlite:<file>, postgres://… or mysql://…)`);
}

export type ReadDatabaseConfig =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'postgres'; readonly url: string };

/** Where the read models live: as configured, or a SQLite file beside a SQLite store (else in ./data). */
export function readDatabaseConfig(config: Config): ReadDatabaseConfig {
  const url = config.readDatabaseUrl;
  if (url === '') {
    const store = storeConfig(config);
    return { kind: 'sqlite', path: store.kind === 'sqlite' ? `${store.path}-read` : resolve('data/skuld-read.db') };
  }
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '' || path === ':memory:') throw invalid('SKULD_READ_DATABASE_URL: sqlite: needs a file path');
    return { kind: 'sqlite', path: resolve(path) };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    if (databaseOf(url) === '') throw invalid('SKULD_READ_DATABASE_URL: postgres:// needs a database of its own');
    if (url === config.databaseUrl)
      throw invalid('SKULD_READ_DATABASE_URL: the read models need a database of their own');
    return { kind: 'postgres', url };
  }
  throw invalid(`SKULD_READ_DATABASE_URL: unsupported read database "${url}" (use sqlite:<file> or postgres://…)`);
}

/** The database named by a URL's path. */
function databaseOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.slice(1));
  } catch {
    throw invalid(`SKULD_DATABASE_URL: not a valid URL: "${url}"`);
  }
}

/**
 * The settings in force, one a line: variable, flag, value and where it came from. A password
 * in a URL and a credential are masked.
 */
export function describeConfig({ config, sources }: ResolvedConfig): string {
  const rows = (Object.keys(settings) as (keyof Config)[]).map((key) => {
    const setting: Setting<unknown> = settings[key];
    const value = setting.secret === true && config[key] !== '' ? '***' : shown(config[key]);
    return [setting.env, setting.flag, value, sources[key]];
  });
  const table = [['Variable', 'Flag', 'Value', 'From'], ...rows];
  const widths = [0, 1, 2].map((column) => Math.max(...table.map((row) => (row[column] as string).length)));
  return table
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function shown(value: unknown): string {
  const text = String(value);
  if (text === '') return '(empty)';
  if (!URL.canParse(text)) return text;
  const url = new URL(text);
  if (url.password === '') return text;
  url.password = '***';
  return url.toString();
}
