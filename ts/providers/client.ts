/**
 * The gateway from outside (the kit's run): starting it as a child process in the run's
 * namespace, and its control API, `GET /_kit/ledger` and `GET /_kit/health`
 * (docs/internals.md, "Provider gateway").
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../config.js';
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

/** The part of the stack's Supervisor the gateway start uses (providers/ may not import stack/). */
export interface GatewaySpawner {
  spawn(name: string, cmd: string, args: string[], opts?: { cwd?: string }): unknown;
}

/**
 * Starts the gateway as supervisor child `gateway` (`tsx ts/providers/main.ts`), inside the
 * namespace, with `script` (the scenario's `gateway:` block) and `keys` (label → key pair:
 * the JWT issuer tells the ledger which worker opened a socket) written as JSON into
 * `dir`, and waits until it answers health.
 * @returns `url` (control API, `http://host:port`).
 * @throws KitError (exit 2) when it does not come up within `readyTimeoutMs` (default 20 000 ms).
 */
export async function startGatewayProcess(
  sup: GatewaySpawner,
  o: { host: string; port: number; dir: string; script: unknown; keys: Record<string, { apiKey: string; apiSecret: string }>; readyTimeoutMs?: number },
): Promise<{ url: string }> {
  const scriptFile = join(o.dir, 'gateway-script.json');
  const keysFile = join(o.dir, 'gateway-keys.json');
  writeFileSync(scriptFile, JSON.stringify(o.script));
  writeFileSync(keysFile, JSON.stringify(o.keys));
  sup.spawn('gateway', process.execPath, ['--import', 'tsx', join(ROOT, 'ts/providers/main.ts'), '--host', o.host, '--port', String(o.port), '--script', scriptFile, '--keys', keysFile], { cwd: ROOT });
  const url = `http://${o.host}:${o.port}`;
  await waitForGateway(url, o.readyTimeoutMs ?? 20_000);
  return { url };
}

/**
 * The sockets `worker` (an API key label, 'js' | 'py') opened, with open/close times moved
 * onto the CLOCK_MONOTONIC ms scale of the timeline (the ledger reports ms since gateway
 * start plus that start on the same scale: ledger.ts).
 * @throws KitError when the gateway cannot be reached.
 */
export async function fetchWorkerSockets(baseUrl: string, worker: string, timeoutMs = 5000): Promise<LedgerEntry[]> {
  const url = controlUrl(baseUrl, '/_kit/ledger');
  let body: { sockets: LedgerEntry[]; startedAtMonotonicMs: number };
  try {
    body = (await (await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })).json()) as typeof body;
  } catch (err) {
    throw new KitError(`cannot read the provider gateway's ledger at ${url}: ${(err as Error).message}`, { fix: 'check the gateway log (<run>/logs/gateway.log); it may have exited', cause: err });
  }
  const t0 = body.startedAtMonotonicMs;
  return body.sockets
    .filter((s) => s.worker === worker)
    .map((s) => ({ ...s, openedAt: s.openedAt + t0, closedAt: s.closedAt === null ? null : s.closedAt + t0 }));
}
