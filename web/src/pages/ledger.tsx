import { useEffect, useRef, useState } from 'preact/hooks';
import { getJson, type LedgerEvent } from '../api';
import { followEvents } from '../event-stream';
import { Card } from '../widgets';
import { EventTable } from './stock';

// The ledger's live tail (the event stream), starting a little before the head, filtered here.

/** Events kept on the page; older ones scroll away. */
const eventsKeptMax = 500;
/** How far back the tail starts. */
const backlogEvents = 100;

export function Ledger() {
  const [events, setEvents] = useState<LedgerEvent[]>([]);
  const [state, setState] = useState('connecting');
  const [filters, setFilters] = useState({ sku: '', location: '', type: '' });
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(false);
  pausedRef.current = paused;
  useEffect(() => {
    let stop = () => {};
    getJson<{ head: number }>('/v1/projections')
      .then((answer) => {
        stop = followEvents(Math.max(0, answer.head - backlogEvents), {
          onEvents: (fresh) => {
            if (!pausedRef.current) setEvents((old) => [...fresh.reverse(), ...old].slice(0, eventsKeptMax));
          },
          onState: (next, detail) => setState(detail === undefined ? next : `${next} (${detail})`),
        });
      })
      .catch((error: unknown) => setState(`unavailable (${error instanceof Error ? error.message : error})`));
    return () => stop();
  }, []);
  const shown = events.filter(
    (event) =>
      (filters.sku === '' || event.sku.includes(filters.sku)) &&
      (filters.location === '' || event.location.includes(filters.location)) &&
      (filters.type === '' || event.type === filters.type),
  );
  const types = [...new Set(events.map((event) => event.type))].sort();
  const set = (name: keyof typeof filters) => (e: { currentTarget: { value: string } }) =>
    setFilters({ ...filters, [name]: e.currentTarget.value });
  return (
    <div class="grid">
      <Card title="Ledger, live" wide>
        <div class="filters">
          <span>
            stream: <b data-figure="stream">{state}</b>
          </span>
          <label>
            SKU <input name="sku" value={filters.sku} onInput={set('sku')} />
          </label>
          <label>
            location <input name="location" value={filters.location} onInput={set('location')} />
          </label>
          <label>
            type{' '}
            <select name="type" value={filters.type} onChange={set('type')}>
              <option value="">any</option>
              {types.map((type) => (
                <option key={type}>{type}</option>
              ))}
            </select>
          </label>
          <button type="button" onClick={() => setPaused(!paused)}>
            {paused ? 'Resume' : 'Pause'}
          </button>
        </div>
        <EventTable events={shown} />
      </Card>
    </div>
  );
}
