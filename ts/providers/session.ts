/**
 * What a protocol handler (STT, TTS) gets from the gateway for one websocket: a JSON sender
 * that keeps the ledger's byte and error counts, and a gateway-side close that the ledger
 * attributes to the gateway.
 */
import type { LedgerEntry } from './ledger.js';

export interface WsCtx {
  readonly entry: LedgerEntry;
  readonly worker: string | null;
  /** Query parameters of the upgrade URL (`model`, ...). */
  readonly query: URLSearchParams;
  /** Send one JSON text message; a no-op once the socket is no longer open. */
  send(msg: Record<string, unknown>): void;
  /** Send `{type:'error', code?, message}` and record `code` in `entry.errorsSent`. */
  sendError(code: number | undefined, message: string): void;
  /** Close from the gateway side (ledger: closedBy 'gateway'), e.g. after error 2007. */
  closeByGateway(code: number, reason: string): void;
  /**
   * Close because the client asked for it in the protocol (Deepgram `CloseStream` / `Close`:
   * the server sends the close frame, but the client ended the session), so the ledger
   * says closedBy 'client'.
   */
  closeOnRequest(code: number, reason: string): void;
  /** Send one binary message (Deepgram TTS audio); a no-op once the socket is no longer open. */
  sendBinary(data: Buffer): void;
  /** True while the socket is OPEN. */
  isOpen(): boolean;
  /** One JSON log line (gateway stdout). */
  log(ev: string, data?: Record<string, unknown>): void;
}

export interface WsHandler {
  onMessage(msg: Record<string, unknown>): void;
  /** A binary message (Deepgram STT audio). Handlers without it ignore binary input. */
  onBinary?(data: Buffer): void;
  /** The socket closed (either side); drop timers. */
  onClose(): void;
}
