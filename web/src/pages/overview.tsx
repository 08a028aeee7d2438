import { useEffect, useMemo, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { getJson, getText } from '../api';
import { TimeChart } from '../chart';
import { ago, number } from '../format';
import { buckets, byLabel, type Exposition, hasFamily, parseExposition, quantile, total } from '../prometheus';
import { Card, Failure, NoData } from '../widgets';

// The live overview: /metrics every two seconds, parsed here; rates and latency quantiles from
// the difference between two scrapes (as Prometheus's rate() and histogram_quantile() would);
// the instances; the ledger's head. A family the server does not expose says so.

const pollMs = 2_000;
/** Five minutes of points at one every two seconds. */
const pointsMax = 150;

interface Point {
  readonly t: number;
  readonly ordersPerS: number | null;
  readonly reservationsPerS: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly pending: number | null;
  readonly committedPerS: number | null;
  readonly expiredPerS: number | null;
  readonly queueDepth: number | null;
}

interface Instance {
  readonly id: string;
  readonly httpUrl: string;
  readonly grpcUrl: string | null;
  readonly startedAt: number;
  readonly lastSeenAt: number;
  readonly healthy: boolean;
}

const commands = 'skuld_commands_total';
const latency = 'skuld_http_request_duration_seconds';

function rate(before: Exposition, after: Exposition, seconds: number, name: string, match: Record<string, string>) {
  if (!hasFamily(after, name)) return null;
  return Math.max(0, total(after, name, match) - total(before, name, match)) / seconds;
}

function gauge(exposition: Exposition, name: string): number | null {
  return hasFamily(exposition, name) ? total(exposition, name) : null;
}

function pointOf(before: { t: number; x: Exposition }, after: { t: number; x: Exposition }): Point {
  const seconds = Math.max(0.001, (after.t - before.t) / 1000);
  const ok = (type: string) => rate(before.x, after.x, seconds, commands, { type, outcome: 'ok' });
  const hasLatency = hasFamily(after.x, latency);
  const from = buckets(before.x, latency);
  const to = buckets(after.x, latency);
  const ms = (q: number) => {
    const value = hasLatency ? quantile(q, from, to) : null;
    return value === null ? null : value * 1000;
  };
  return {
    t: after.t / 1000,
    ordersPerS: ok('CommitReservation'),
    reservationsPerS: ok('ReserveStock'),
    p50Ms: ms(0.5),
    p99Ms: ms(0.99),
    pending: gauge(after.x, 'skuld_reservations_pending'),
    committedPerS: ok('CommitReservation'),
    expiredPerS: ok('ExpireReservation'),
    queueDepth: gauge(after.x, 'skuld_engine_queue_depth'),
  };
}

function columns(points: readonly Point[], ...keys: (keyof Point)[]): uPlot.AlignedData {
  return [points.map((p) => p.t), ...keys.map((key) => points.map((p) => p[key] as number | null))];
}

function useMetrics() {
  const [latest, setLatest] = useState<Exposition | null>(null);
  const [points, setPoints] = useState<Point[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let previous: { t: number; x: Exposition } | null = null;
    let stopped = false;
    const poll = async () => {
      try {
        const x = parseExposition(await getText('/metrics'));
        const now = { t: Date.now(), x };
        if (previous !== null) {
          const point = pointOf(previous, now);
          setPoints((old) => [...old.slice(-(pointsMax - 1)), point]);
        }
        previous = now;
        setLatest(x);
        setError(null);
      } catch (failure) {
        setError(failure);
      }
      if (!stopped) timer = setTimeout(poll, pollMs);
    };
    let timer = setTimeout(poll, 0);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);
  return { latest, points, error };
}

function useInstances() {
  const [instances, setInstances] = useState<Instance[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const load = () =>
      getJson<{ instances: Instance[] }>('/v1/instances')
        .then((answer) => {
          setInstances(answer.instances);
          setError(null);
        })
        .catch(setError);
    load();
    const timer = setInterval(load, pollMs * 2);
    return () => clearInterval(timer);
  }, []);
  return { instances, error };
}

/**
 * The ledger's head, polled with the metrics. The overview only needs how far the ledger has got
 * and how fast it grows: following the live stream for that would have the server serialize every
 * event for this page, a cost that grows with the write rate (the Ledger page tails it).
 */
function useLedgerHead() {
  const [head, setHead] = useState<number | null>(null);
  const [first, setFirst] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const load = () =>
      getJson<{ head: number }>('/v1/projections')
        .then((answer) => {
          setHead(answer.head);
          setFirst((known) => known ?? answer.head);
          setError(null);
        })
        .catch(setError);
    load();
    const timer = setInterval(load, pollMs);
    return () => clearInterval(timer);
  }, []);
  return { head, since: head === null || first === null ? null : head - first, error };
}

export function Overview() {
  const { latest, points, error } = useMetrics();
  const { instances, error: instancesError } = useInstances();
  const ledger = useLedgerHead();
  const throughput = useMemo(() => columns(points, 'ordersPerS', 'reservationsPerS'), [points]);
  const latencyData = useMemo(() => columns(points, 'p50Ms', 'p99Ms'), [points]);
  const lifecycle = useMemo(() => columns(points, 'pending', 'committedPerS', 'expiredPerS'), [points]);
  const queue = useMemo(() => columns(points, 'queueDepth'), [points]);
  const last = points.at(-1);
  return (
    <div class="grid">
      <Failure error={error} />
      <Card title="Orders and reservations per second" wide>
        <p class="figures">
          <span>
            orders/s <b data-figure="orders">{number(last?.ordersPerS, 1)}</b>
          </span>
          <span>
            reservations/s <b data-figure="reservations">{number(last?.reservationsPerS, 1)}</b>
          </span>
        </p>
        {latest !== null && !hasFamily(latest, commands) ? <NoData what={commands} /> : null}
        <TimeChart
          name="throughput"
          unit="per second"
          data={throughput}
          series={[
            { label: 'orders/s', color: '#2f80ed' },
            { label: 'reservations/s', color: '#27ae60' },
          ]}
        />
      </Card>
      <Card title="HTTP latency">
        <p class="figures">
          <span>
            p50 <b>{number(last?.p50Ms, 1)} ms</b>
          </span>
          <span>
            p99 <b>{number(last?.p99Ms, 1)} ms</b>
          </span>
        </p>
        {latest !== null && !hasFamily(latest, latency) ? <NoData what={latency} /> : null}
        <TimeChart
          name="latency"
          unit="ms"
          data={latencyData}
          series={[
            { label: 'p50', color: '#9b51e0' },
            { label: 'p99', color: '#eb5757' },
          ]}
        />
      </Card>
      <Card title="Reservations">
        <p class="figures">
          <span>
            pending <b>{number(last?.pending)}</b>
          </span>
          <span>
            committed/s <b>{number(last?.committedPerS, 1)}</b>
          </span>
          <span>
            expired/s <b>{number(last?.expiredPerS, 1)}</b>
          </span>
        </p>
        <TimeChart
          name="reservations"
          unit="count, per s"
          data={lifecycle}
          series={[
            { label: 'pending', color: '#f2994a' },
            { label: 'committed/s', color: '#2f80ed' },
            { label: 'expired/s', color: '#828282' },
          ]}
        />
      </Card>
      <Card title="Engine queue depth">
        {latest !== null && !hasFamily(latest, 'skuld_engine_queue_depth') ? (
          <NoData what="skuld_engine_queue_depth" />
        ) : null}
        <TimeChart name="queue" unit="commands" data={queue} series={[{ label: 'queue depth', color: '#56ccf2' }]} />
      </Card>
      <Card title="Commands by outcome">{latest === null ? null : <Outcomes exposition={latest} />}</Card>
      <Card title="Conflicts and deadlocks">{latest === null ? null : <Conflicts exposition={latest} />}</Card>
      <Card title="Lag">{latest === null ? null : <Lags exposition={latest} />}</Card>
      <Card title="Read cache">{latest === null ? null : <Cache exposition={latest} />}</Card>
      <Card title="Instances">
        <Failure error={instancesError} />
        {instances === null ? null : <Instances instances={instances} />}
      </Card>
      <Card title="Ledger">
        <Failure error={ledger.error} />
        <p>
          head position <b data-figure="head">{number(ledger.head)}</b>; {number(ledger.since)} events since this page
          opened (the Ledger page tails them live)
        </p>
      </Card>
    </div>
  );
}

function Outcomes(props: { exposition: Exposition }) {
  if (!hasFamily(props.exposition, commands)) return <NoData what={commands} />;
  const outcomes = [...byLabel(props.exposition, commands, 'outcome')].sort((a, b) => b[1] - a[1]);
  const all = outcomes.reduce((sum, [, count]) => sum + count, 0);
  return (
    <ul class="bars">
      {outcomes.map(([outcome, count]) => (
        <li key={outcome}>
          <span class="bar-label">{outcome}</span>
          <span
            class="bar"
            style={{ width: `${all === 0 ? 0 : Math.max(1, (100 * count) / all)}%` }}
            data-ok={outcome === 'ok'}
          />
          <span class="bar-value">{number(count)}</span>
        </li>
      ))}
    </ul>
  );
}

function Conflicts(props: { exposition: Exposition }) {
  const name = 'skuld_store_conflicts_total';
  if (!hasFamily(props.exposition, name)) return <NoData what={name} />;
  const codes = byLabel(props.exposition, name, 'code');
  const deadlocks = codes.get('deadlock') ?? 0;
  const retries = gauge(props.exposition, 'skuld_store_retries_total');
  return (
    <div>
      <p class={deadlocks === 0 ? 'good' : 'bad'} data-figure="deadlocks">
        {deadlocks === 0 ? 'No deadlocks since this instance started.' : `${number(deadlocks)} deadlocks since start.`}
      </p>
      <table>
        <tbody>
          {['deadlock', 'lock_timeout', 'unique_violation', 'serialization_failure', 'version_conflict'].map((code) => (
            <tr key={code}>
              <td>{code}</td>
              <td class="num">{number(codes.get(code) ?? 0)}</td>
            </tr>
          ))}
          <tr>
            <td>retries</td>
            <td class="num">{number(retries)}</td>
          </tr>
        </tbody>
      </table>
    </div>
  );
}

function Lags(props: { exposition: Exposition }) {
  const rows: [string, string, number | undefined, number | undefined][] = [];
  for (const [kind, label] of [
    ['relay', 'destination'],
    ['projection', 'projection'],
  ] as const) {
    const events = byLabel(props.exposition, `skuld_${kind}_lag_events`, label);
    const seconds = byLabel(props.exposition, `skuld_${kind}_lag_seconds`, label);
    for (const name of new Set([...events.keys(), ...seconds.keys()])) {
      rows.push([kind, name, events.get(name), seconds.get(name)]);
    }
  }
  if (rows.length === 0) return <NoData what="relay or projection lag" />;
  return (
    <table>
      <thead>
        <tr>
          <th>what</th>
          <th class="num">events</th>
          <th class="num">seconds</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([kind, name, events, seconds]) => (
          <tr key={`${kind}:${name}`}>
            <td>
              {kind} {name}
            </td>
            <td class="num">{number(events)}</td>
            <td class="num">{number(seconds, 2)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const breakerStates = ['closed', 'half-open', 'open'];

function Cache(props: { exposition: Exposition }) {
  if (!hasFamily(props.exposition, 'skuld_cache_hits_total')) return <NoData what="cache metrics" />;
  const hits = byLabel(props.exposition, 'skuld_cache_hits_total', 'layer');
  const misses = byLabel(props.exposition, 'skuld_cache_misses_total', 'layer');
  const breaker = gauge(props.exposition, 'skuld_cache_breaker_state');
  return (
    <div>
      <table>
        <tbody>
          {[...new Set([...hits.keys(), ...misses.keys()])].map((layer) => {
            const hit = hits.get(layer) ?? 0;
            const all = hit + (misses.get(layer) ?? 0);
            return (
              <tr key={layer}>
                <td>{layer} hit ratio</td>
                <td class="num">{all === 0 ? '—' : `${number((100 * hit) / all, 1)} %`}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p>
        Redis breaker: <b>{breaker === null ? 'no data' : (breakerStates[breaker] ?? String(breaker))}</b>
      </p>
    </div>
  );
}

function Instances(props: { instances: readonly Instance[] }) {
  const now = Date.now();
  return (
    <div class="scroll">
      <table data-table="instances">
        <thead>
          <tr>
            <th>instance</th>
            <th>health</th>
            <th>last seen</th>
            <th>HTTP</th>
          </tr>
        </thead>
        <tbody>
          {props.instances.map((instance) => (
            <tr key={instance.id}>
              <td title={instance.id}>{instance.id.slice(0, 24)}</td>
              <td class={instance.healthy ? 'good' : 'bad'}>{instance.healthy ? 'healthy' : 'unhealthy'}</td>
              <td>{ago(instance.lastSeenAt, now)}</td>
              <td>{instance.httpUrl}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
