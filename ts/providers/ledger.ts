/**
 * The gateway's socket ledger: one entry per provider connection (STT/TTS websocket) and
 * per LLM HTTP request. The shape is the seam in docs/internals.md ("Provider gateway").
 */
import { performance } from 'node:perf_hooks';

export type LedgerKind = 'stt' | 'tts' | 'llm';

export interface LedgerEntry {
  id: string;
  kind: LedgerKind;
  /** Worker label ('js' | 'py' | ...) whose API key signed the JWT; null when the issuer is not a known key. */
  worker: string | null;
  /** ms since gateway start (monotonic). */
  openedAt: number;
  /** ms since gateway start (monotonic); null while open. */
  closedAt: number | null;
  /** WebSocket close code (1000, 1005, 1006, ...) or, for an LLM request, the HTTP status. */
  closeCode: number | null;
  /** 'gateway' when the gateway ended it on its own (idle 2007, bad auth, shutdown); 'client' otherwise. */
  closedBy: 'client' | 'gateway' | null;
  /** Payload bytes received / sent (websocket message payloads, HTTP bodies). */
  bytesIn: number;
  bytesOut: number;
  /** Error codes the gateway sent on this socket, e.g. [2007]. */
  errorsSent: number[];
  /** Extra (not in the internals seam, additive): request path, e.g. '/v1/stt', '/v1/listen'. */
  path: string;
  /** Extra (additive): which wire protocol the socket spoke: LiveKit Inference or Deepgram's (`providers:` in the scenario). */
  provider: LedgerProvider;
}

export type LedgerProvider = 'inference' | 'deepgram';

/**
 * In-memory ledger. Times come from `performance.now()` relative to construction, so
 * they are monotonic; `startedAtMonotonicMs` puts them on the CLOCK_MONOTONIC scale the
 * timeline events use (`Number(process.hrtime.bigint()) / 1e6`, docs/internals.md).
 */
export class Ledger {
  readonly startedAtMonotonicMs: number;
  readonly #t0: number;
  readonly #entries: LedgerEntry[] = [];
  #seq = 0;

  constructor() {
    this.#t0 = performance.now();
    this.startedAtMonotonicMs = Number(process.hrtime.bigint()) / 1e6;
  }

  /** ms since the ledger (gateway) started, rounded to µs. */
  now(): number {
    return Math.round((performance.now() - this.#t0) * 1000) / 1000;
  }

  open(kind: LedgerKind, worker: string | null, path: string, provider: LedgerProvider = 'inference'): LedgerEntry {
    const e: LedgerEntry = {
      id: `${kind}-${++this.#seq}`,
      kind,
      worker,
      openedAt: this.now(),
      closedAt: null,
      closeCode: null,
      closedBy: null,
      bytesIn: 0,
      bytesOut: 0,
      errorsSent: [],
      path,
      provider,
    };
    this.#entries.push(e);
    return e;
  }

  /** First close wins: later calls (e.g. the socket's own 'close' after a shutdown) are ignored. */
  close(e: LedgerEntry, code: number | null, by: 'client' | 'gateway'): void {
    if (e.closedAt !== null) return;
    e.closedAt = this.now();
    e.closeCode = code;
    e.closedBy = by;
  }

  /** A deep copy, so callers cannot mutate live entries. */
  snapshot(): LedgerEntry[] {
    return this.#entries.map((e) => ({ ...e, errorsSent: [...e.errorsSent] }));
  }
}
