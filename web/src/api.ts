// The public API, with the credential the operator gave (kept in sessionStorage: it leaves with
// the tab). Every call goes to this page's own origin.

const keyName = 'skuld.dashboard.key';

export function credential(): string | null {
  return sessionStorage.getItem(keyName);
}

export function setCredential(key: string | null): void {
  if (key === null) sessionStorage.removeItem(keyName);
  else sessionStorage.setItem(keyName, key);
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function authHeaders(): Record<string, string> {
  const key = credential();
  return key === null ? {} : { authorization: `Bearer ${key}` };
}

async function call(path: string): Promise<Response> {
  const response = await fetch(path, { headers: authHeaders() });
  if (response.ok) return response;
  let code = 'HTTP_ERROR';
  let detail = `${response.status} ${response.statusText}`;
  if ((response.headers.get('content-type') ?? '').startsWith('application/problem+json')) {
    const problem = (await response.json()) as { code?: string; detail?: string };
    code = problem.code ?? code;
    detail = problem.detail ?? detail;
  }
  throw new ApiError(response.status, code, `${code}: ${detail}`);
}

export async function getJson<T>(path: string): Promise<T> {
  return (await call(path)).json() as Promise<T>;
}

export async function getText(path: string): Promise<string> {
  return (await call(path)).text();
}

/** A query string from the values given, leaving out the empty ones. */
export function query(values: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && value !== '') params.set(name, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

export interface LedgerEvent {
  readonly id: string;
  readonly position: number;
  readonly type: string;
  readonly sku: string;
  readonly location: string;
  readonly onHandDelta: number;
  readonly reservedDelta: number;
  /** + expected on a purchase order, - settled by a receipt or withdrawn. */
  readonly incomingDelta: number;
  readonly onHandAfter: number;
  readonly reservedAfter: number;
  readonly quantity: number;
  readonly reservationId: string | null;
  readonly reference: string | null;
  readonly reason: string | null;
  readonly actor: string;
  readonly occurredAt: number;
  readonly recordedAt: number;
}

export interface Level {
  readonly sku: string;
  readonly location: string;
  readonly onHand: number;
  readonly reserved: number;
  readonly available: number;
  readonly incoming?: number;
  readonly projected?: number;
}

export interface Reservation {
  readonly id: string;
  readonly status: 'pending' | 'committed' | 'released' | 'expired';
  /** The order reference (the list has it; one reservation's answer may not). */
  readonly reference?: string | null;
  readonly lines: readonly { sku: string; location: string; quantity: number; committed: number | null }[];
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly resolvedAt: number | null;
}
