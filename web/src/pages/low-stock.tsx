import { useEffect, useState } from 'preact/hooks';
import { getJson, type Level } from '../api';
import { number } from '../format';
import { Card, Failure } from '../widgets';

// Items below their low-stock threshold (the read model), each with its levels per location.

interface LowItem {
  readonly sku: string;
  readonly name: string;
  readonly threshold: number;
  readonly onHand: number;
  readonly reserved: number;
  readonly available: number;
}

/** Items whose levels are fetched: the first page of the list. */
const itemsShownMax = 50;

export function LowStock() {
  const [items, setItems] = useState<(LowItem & { levels: readonly Level[] })[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const load = async () => {
      const answer = await getJson<{ items: LowItem[] }>(`/v1/low-stock?limit=${itemsShownMax}`);
      const withLevels = await Promise.all(
        answer.items.map(async (item) => {
          const stock = await getJson<{ levels: Level[] }>(`/v1/items/${encodeURIComponent(item.sku)}/stock`);
          return { ...item, levels: stock.levels };
        }),
      );
      setItems(withLevels);
      setError(null);
    };
    load().catch(setError);
    const timer = setInterval(() => load().catch(setError), 10_000);
    return () => clearInterval(timer);
  }, []);
  return (
    <div class="grid">
      <Card title="Items below their threshold" wide>
        <Failure error={error} />
        {items === null ? null : items.length === 0 ? (
          <p class="good">No item is below its threshold.</p>
        ) : (
          <table data-table="low-stock">
            <thead>
              <tr>
                <th>sku</th>
                <th>name</th>
                <th>location</th>
                <th class="num">on hand</th>
                <th class="num">reserved</th>
                <th class="num">available</th>
                <th class="num">threshold</th>
              </tr>
            </thead>
            <tbody>
              {items.flatMap((item) => [
                <tr key={item.sku} class="total" data-low={item.sku}>
                  <td>
                    <a href={`#/stock?sku=${encodeURIComponent(item.sku)}`}>{item.sku}</a>
                  </td>
                  <td>{item.name}</td>
                  <td>all</td>
                  <td class="num">{number(item.onHand)}</td>
                  <td class="num">{number(item.reserved)}</td>
                  <td class="num bad">{number(item.available)}</td>
                  <td class="num">{number(item.threshold)}</td>
                </tr>,
                ...item.levels.map((level) => (
                  <tr key={`${item.sku}@${level.location}`} data-level-of={item.sku}>
                    <td />
                    <td />
                    <td>{level.location}</td>
                    <td class="num">{number(level.onHand)}</td>
                    <td class="num">{number(level.reserved)}</td>
                    <td class="num">{number(level.available)}</td>
                    <td />
                  </tr>
                )),
              ])}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  );
}
