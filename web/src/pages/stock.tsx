import { useEffect, useState } from 'preact/hooks';
import { eventTypes } from '../../../src/domain/types';
import { getJson, type LedgerEvent, type Level, query } from '../api';
import { number, time } from '../format';
import { Card, Failure } from '../widgets';

// An item's levels per location now, or at a past time or ledger position (the read side's
// point-in-time answer), and its history (the movements read model) with filters.

interface StockAnswer {
  readonly sku: string;
  readonly levels: readonly Level[];
  readonly position?: number;
}

/** The types a movement can have: every ledger event type but an item's registration. */
const movementTypes = eventTypes.filter((type) => type !== 'ItemRegistered');

export function Stock() {
  // #/stock?sku=… (a link from the low-stock page) shows that item at once.
  const linked = new URLSearchParams(location.hash.split('?')[1]).get('sku');
  const [sku, setSku] = useState(linked ?? '');
  const [shown, setShown] = useState<string | null>(linked);
  const [past, setPast] = useState({ at: '', position: '' });
  const [skus, setSkus] = useState<string[]>([]);
  useEffect(() => {
    getJson<{ items: { sku: string }[] }>('/v1/items?limit=1000')
      .then((answer) => setSkus(answer.items.map((item) => item.sku)))
      .catch(() => setSkus([]));
  }, []);
  return (
    <div class="grid">
      <Card title="Find an item" wide>
        <form
          class="filters"
          onSubmit={(event) => {
            event.preventDefault();
            setShown(sku.trim());
          }}
        >
          <label>
            SKU <input name="sku" list="skus" value={sku} onInput={(e) => setSku(e.currentTarget.value)} required />
          </label>
          <datalist id="skus">
            {skus.map((code) => (
              <option key={code} value={code} />
            ))}
          </datalist>
          <label>
            at time{' '}
            <input
              type="datetime-local"
              step="1"
              value={past.at}
              onInput={(e) => setPast({ at: e.currentTarget.value, position: '' })}
            />
          </label>
          <label>
            or position{' '}
            <input
              name="position"
              type="number"
              min="1"
              value={past.position}
              onInput={(e) => setPast({ at: '', position: e.currentTarget.value })}
            />
          </label>
          <button type="submit">Show</button>
        </form>
      </Card>
      {shown === null || shown === '' ? null : <ItemStock sku={shown} past={past} />}
      {shown === null || shown === '' ? null : <History sku={shown} />}
    </div>
  );
}

function ItemStock(props: { sku: string; past: { at: string; position: string } }) {
  const [answer, setAnswer] = useState<StockAnswer | null>(null);
  const [error, setError] = useState<unknown>(null);
  const at = props.past.at === '' ? undefined : new Date(props.past.at).getTime();
  const position = props.past.position === '' ? undefined : props.past.position;
  useEffect(() => {
    setError(null);
    getJson<StockAnswer>(`/v1/items/${encodeURIComponent(props.sku)}/stock${query({ at, position })}`)
      .then(setAnswer)
      .catch((failure: unknown) => {
        setAnswer(null);
        setError(failure);
      });
  }, [props.sku, at, position]);
  const when = at !== undefined ? `at ${time(at)}` : position !== undefined ? `after position ${position}` : 'now';
  const hasIncoming = answer?.levels.some((level) => level.incoming !== undefined) ?? false;
  return (
    <Card title={`Levels of ${props.sku} (${when})`} wide>
      <Failure error={error} />
      {answer === null ? null : (
        <table data-table="levels">
          <thead>
            <tr>
              <th>location</th>
              <th class="num">on hand</th>
              <th class="num">reserved</th>
              <th class="num">available</th>
              {hasIncoming ? <th class="num">incoming</th> : null}
              {hasIncoming ? <th class="num">projected</th> : null}
            </tr>
          </thead>
          <tbody>
            {answer.levels.map((level) => (
              <tr key={level.location} data-location={level.location}>
                <td>{level.location}</td>
                <td class="num" data-field="onHand">
                  {number(level.onHand)}
                </td>
                <td class="num" data-field="reserved">
                  {number(level.reserved)}
                </td>
                <td class="num" data-field="available">
                  {number(level.available)}
                </td>
                {hasIncoming ? (
                  <td class="num" data-field="incoming">
                    {number(level.incoming)}
                  </td>
                ) : null}
                {hasIncoming ? (
                  <td class="num" data-field="projected">
                    {number(level.projected)}
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {answer?.position === undefined ? null : <p class="muted">as of ledger position {answer.position}</p>}
    </Card>
  );
}

function History(props: { sku: string }) {
  const [filters, setFilters] = useState({ location: '', type: '', from: '', to: '' });
  const [events, setEvents] = useState<LedgerEvent[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const ms = (value: string) => (value === '' ? undefined : new Date(value).getTime());
    const search = query({
      location: filters.location,
      type: filters.type,
      from: ms(filters.from),
      to: ms(filters.to),
      limit: 200,
    });
    getJson<{ events: LedgerEvent[] }>(`/v1/items/${encodeURIComponent(props.sku)}/movements${search}`)
      .then((answer) => {
        setEvents(answer.events);
        setError(null);
      })
      .catch(setError);
  }, [props.sku, filters]);
  const set = (name: keyof typeof filters) => (e: { currentTarget: { value: string } }) =>
    setFilters({ ...filters, [name]: e.currentTarget.value });
  return (
    <Card title={`History of ${props.sku}`} wide>
      <div class="filters">
        <label>
          location <input value={filters.location} onChange={set('location')} />
        </label>
        <label>
          type{' '}
          <select value={filters.type} onChange={set('type')}>
            <option value="">any</option>
            {movementTypes.map((type) => (
              <option key={type}>{type}</option>
            ))}
          </select>
        </label>
        <label>
          from <input type="datetime-local" value={filters.from} onChange={set('from')} />
        </label>
        <label>
          to <input type="datetime-local" value={filters.to} onChange={set('to')} />
        </label>
      </div>
      <Failure error={error} />
      <EventTable events={events} />
    </Card>
  );
}

export function EventTable(props: { events: readonly LedgerEvent[] }) {
  return (
    <div class="scroll">
      <table data-table="events">
        <thead>
          <tr>
            <th class="num">position</th>
            <th>type</th>
            <th>sku</th>
            <th>location</th>
            <th class="num">Δ on hand</th>
            <th class="num">Δ reserved</th>
            <th class="num">Δ incoming</th>
            <th class="num">on hand after</th>
            <th>reservation / reference</th>
            <th>actor</th>
            <th>occurred</th>
          </tr>
        </thead>
        <tbody>
          {props.events.map((event) => (
            <tr key={event.position}>
              <td class="num">{event.position}</td>
              <td>{event.type}</td>
              <td>{event.sku}</td>
              <td>{event.location}</td>
              <td class="num">{number(event.onHandDelta)}</td>
              <td class="num">{number(event.reservedDelta)}</td>
              <td class="num">{number(event.incomingDelta)}</td>
              <td class="num">{number(event.onHandAfter)}</td>
              <td>{event.reservationId ?? event.reference ?? ''}</td>
              <td>{event.actor}</td>
              <td>{time(event.occurredAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
