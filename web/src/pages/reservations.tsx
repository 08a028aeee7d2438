import { useEffect, useState } from 'preact/hooks';
import { getJson, type LedgerEvent, query, type Reservation } from '../api';
import { number, time } from '../format';
import { Card, Failure } from '../widgets';
import { EventTable } from './stock';

// Reservations found through the read model (status, SKU, order reference, expiring soon), and
// one reservation's lines and story: its events, from each of its items' movements.

export function Reservations() {
  const [filters, setFilters] = useState({ status: '', sku: '', reference: '', expiringMin: '' });
  const [found, setFound] = useState<Reservation[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((n) => n + 1), 5_000);
    return () => clearInterval(timer);
  }, []);
  useEffect(() => {
    const soon = filters.expiringMin === '' ? undefined : Date.now() + Number(filters.expiringMin) * 60_000;
    const search = query({
      status: soon === undefined ? filters.status : 'pending',
      sku: filters.sku,
      reference: filters.reference,
      expiresBefore: soon,
      limit: 1000,
    });
    getJson<{ reservations: Reservation[] }>(`/v1/reservations${search}`)
      .then((answer) => {
        // Newest first: the list comes in the order they were made.
        setFound(answer.reservations.slice(-200).reverse());
        setError(null);
      })
      .catch(setError);
  }, [filters, tick]);
  const set = (name: keyof typeof filters) => (e: { currentTarget: { value: string } }) =>
    setFilters({ ...filters, [name]: e.currentTarget.value });
  return (
    <div class="grid">
      <Card title="Find reservations" wide>
        <div class="filters">
          <label>
            status{' '}
            <select name="status" value={filters.status} onChange={set('status')}>
              <option value="">any</option>
              <option>pending</option>
              <option>committed</option>
              <option>released</option>
              <option>expired</option>
            </select>
          </label>
          <label>
            SKU <input name="sku" value={filters.sku} onChange={set('sku')} />
          </label>
          <label>
            order reference <input name="reference" value={filters.reference} onChange={set('reference')} />
          </label>
          <label>
            expiring within (min){' '}
            <input name="expiring" type="number" min="1" value={filters.expiringMin} onChange={set('expiringMin')} />
          </label>
        </div>
        <Failure error={error} />
        <div class="scroll">
          <table data-table="reservations">
            <thead>
              <tr>
                <th>id</th>
                <th>status</th>
                <th>reference</th>
                <th class="num">lines</th>
                <th class="num">units</th>
                <th>created</th>
                <th>expires</th>
              </tr>
            </thead>
            <tbody>
              {found.map((reservation) => (
                <tr
                  key={reservation.id}
                  data-reservation={reservation.id}
                  class={reservation.id === chosen ? 'chosen' : 'clickable'}
                  onClick={() => setChosen(reservation.id)}
                >
                  <td>{reservation.id}</td>
                  <td class={`status-${reservation.status}`}>{reservation.status}</td>
                  <td>{reservation.reference ?? ''}</td>
                  <td class="num">{reservation.lines.length}</td>
                  <td class="num">{number(reservation.lines.reduce((sum, line) => sum + line.quantity, 0))}</td>
                  <td>{time(reservation.createdAt)}</td>
                  <td>{time(reservation.expiresAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
      {chosen === null ? null : <ReservationStory id={chosen} />}
    </div>
  );
}

function ReservationStory(props: { id: string }) {
  const [reservation, setReservation] = useState<Reservation | null>(null);
  const [story, setStory] = useState<LedgerEvent[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const load = async () => {
      const found = await getJson<Reservation>(`/v1/reservations/${encodeURIComponent(props.id)}`);
      setReservation(found);
      const skus = [...new Set(found.lines.map((line) => line.sku))];
      const pages = await Promise.all(
        skus.map((sku) =>
          getJson<{ events: LedgerEvent[] }>(`/v1/items/${encodeURIComponent(sku)}/movements?limit=1000`),
        ),
      );
      const events = pages.flatMap((page) => page.events).filter((event) => event.reservationId === props.id);
      setStory(events.sort((a, b) => a.position - b.position));
    };
    load().catch(setError);
  }, [props.id]);
  return (
    <Card title={`Reservation ${props.id}`} wide>
      <Failure error={error} />
      {reservation === null ? null : (
        <>
          <p>
            <b class={`status-${reservation.status}`}>{reservation.status}</b>, made {time(reservation.createdAt)},
            expires {time(reservation.expiresAt)}
            {reservation.resolvedAt === null ? '' : `, resolved ${time(reservation.resolvedAt)}`}
            {(reservation.reference ?? null) === null ? '' : `, order ${reservation.reference}`}
          </p>
          <table data-table="lines">
            <thead>
              <tr>
                <th>sku</th>
                <th>location</th>
                <th class="num">quantity</th>
                <th class="num">committed</th>
              </tr>
            </thead>
            <tbody>
              {reservation.lines.map((line) => (
                <tr key={`${line.sku}@${line.location}`}>
                  <td>{line.sku}</td>
                  <td>{line.location}</td>
                  <td class="num">{number(line.quantity)}</td>
                  <td class="num">{line.committed === null ? '—' : number(line.committed)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3>Story</h3>
          <EventTable events={story} />
        </>
      )}
    </Card>
  );
}
