import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { credential, setCredential } from './api';
import { themeChanged } from './chart';
import { Ledger } from './pages/ledger';
import { LowStock } from './pages/low-stock';
import { Overview } from './pages/overview';
import { Reservations } from './pages/reservations';
import { Stock } from './pages/stock';
import './style.css';

// The operations dashboard: five pages behind a hash route, a read-only API key asked for once
// per tab, and light or dark as the system says unless the toggle says otherwise.

const pages = {
  overview: { title: 'Overview', view: Overview },
  stock: { title: 'Stock', view: Stock },
  reservations: { title: 'Reservations', view: Reservations },
  'low-stock': { title: 'Low stock', view: LowStock },
  ledger: { title: 'Ledger', view: Ledger },
} as const;
type PageName = keyof typeof pages;

function currentPage(): PageName {
  const name = location.hash.replace(/^#\//, '').split('?')[0] ?? '';
  return name in pages ? (name as PageName) : 'overview';
}

const themeKey = 'skuld.dashboard.theme';
type Theme = 'light' | 'dark' | 'system';

function applyTheme(theme: Theme): void {
  if (theme === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  dispatchEvent(new Event(themeChanged));
}

function App() {
  const [page, setPage] = useState(currentPage());
  const [key, setKey] = useState(credential());
  const [theme, setTheme] = useState<Theme>((localStorage.getItem(themeKey) as Theme | null) ?? 'system');
  useEffect(() => {
    const onHash = () => setPage(currentPage());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    applyTheme(theme);
    localStorage.setItem(themeKey, theme);
  }, [theme]);
  const next: Record<Theme, Theme> = { system: 'light', light: 'dark', dark: 'system' };
  const View = pages[page].view;
  return (
    <>
      <header>
        <strong class="brand">Skuld</strong>
        <nav>
          {(Object.keys(pages) as PageName[]).map((name) => (
            <a key={name} href={`#/${name}`} class={name === page ? 'active' : ''}>
              {pages[name].title}
            </a>
          ))}
        </nav>
        <span class="tools">
          <button
            type="button"
            name="theme"
            onClick={() => setTheme(next[theme])}
            title="Light, dark or as the system says"
          >
            theme: {theme}
          </button>
          {key === null ? null : (
            <button
              type="button"
              onClick={() => {
                setCredential(null);
                setKey(null);
              }}
            >
              forget key
            </button>
          )}
        </span>
      </header>
      <main>{key === null ? <KeyForm onKey={setKey} /> : <View />}</main>
    </>
  );
}

function KeyForm(props: { onKey: (key: string) => void }) {
  const [value, setValue] = useState('');
  return (
    <form
      class="card key-form"
      onSubmit={(event) => {
        event.preventDefault();
        setCredential(value.trim());
        props.onKey(value.trim());
      }}
    >
      <h2>API key</h2>
      <p>
        The dashboard reads the API with a key of its own, kept in this tab only. Make a read-only one with{' '}
        <code>npx skuld keys create --name dashboard --role auditor</code>.
      </p>
      <input
        name="key"
        type="password"
        autocomplete="off"
        placeholder="skuld_…"
        value={value}
        onInput={(e) => setValue(e.currentTarget.value)}
        required
      />
      <button type="submit">Open the dashboard</button>
    </form>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
