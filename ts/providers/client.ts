/**
 * Talking to a running gateway from outside (the orchestrator): its control API,
 * `GET /_kit/ledger` and `GET /_kit/health` (docs/internals.md, "Provider gateway").
 */
import { KitError } from '../errors.js';
import type { LedgerEntry } from './ledger.js';

export type { LedgerEntry } from './ledger.js';

function controlUrl(baseUrl: string, path: string): string {
  // baseUrl is the gateway's `url` (http://host:port); tolerate the inference URL (…/v1) too
  return `${baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '')}${path}`;
}

/**
 * The gateway's ledger: every STT/TTS socket and LLM request so far, in open order.
 * Times are ms since gateway start (monotonic).
 *
 * @param baseUrl `http://host:port` (Gateway.url).
 * @throws KitError when the gateway cannot be reached or answers something else than `{ sockets: [...] }`.
 */
export async function fetchLedger(baseUrl: string, timeoutMs = 5000): Promise<LedgerEntry[]> {
  const url = controlUrl(baseUrl, '/_kit/ledger');
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new KitError(`cannot reach the provider gateway at ${url}: ${(err as Error).message}`, { fix: 'check the gateway log (<run>/logs/gateway.log); it may have exited', cause: err });
  }
  const body = (await res.json().catch(() => null)) as { sockets?: unknown } | null;
  if (!res.ok || !body || !Array.isArray(body.sockets)) {
    throw new KitError(`provider gateway at ${url} answered ${res.status} without a ledger`, { fix: 'is something else listening on the gateway port? check the gateway log' });
  }
  return body.sockets as LedgerEntry[];
}

/**
 * Poll `GET /_kit/health` until it answers `{ ok: true }`.
 *
 * @param baseUrl `http://host:port`; @param timeoutMs overall budget (ms).
 * @throws KitError (exit 2) when the gateway is not healthy within `timeoutMs`.
 */
export async function waitForGateway(baseUrl: string, timeoutMs: number): Promise<void> {
  const url = controlUrl(baseUrl, '/_kit/health');
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(Math.max(100, Math.min(1000, deadline - Date.now()))) });
      const body = (await res.json().catch(() => null)) as { ok?: unknown } | null;
      if (res.ok && body?.ok === true) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new KitError(`provider gateway at ${url} not healthy after ${timeoutMs} ms (${last})`, { fix: 'check the gateway log (<run>/logs/gateway.log) for the reason it did not start' });
}
