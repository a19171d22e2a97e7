/**
 * The provider gateway: a local stand-in for LiveKit Inference (the paid cloud gateway)
 * that speaks its wire protocol as the pinned clients do, scripted per scenario, and keeps
 * a ledger of every socket. One node:http server; websockets (`ws`) on the same port.
 *
 * Routes (each also answered without the `/v1` prefix, the form agents-js's own tests use):
 * - `GET  /v1/stt?model=…`  websocket upgrade → `stt.ts`
 * - `GET  /v1/tts?model=…`  websocket upgrade → `tts.ts`
 * - `GET  /v1/listen?…`, `GET /v1/speak?…`  Deepgram STT / TTS websocket upgrades → `deepgram.ts`
 *   (`Authorization: Token <key>`; ledger `provider: 'deepgram'`)
 * - `POST /v1/chat/completions` (SSE), `GET /v1/models` → `llm.ts`
 * - `GET  /_kit/ledger` → `{ sockets: LedgerEntry[], startedAtMonotonicMs }`, `GET /_kit/health` → `{ ok: true, ... }`
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import { KitError } from '../errors.js';
import { authenticate, authenticateToken, parseGatewayKeys, type GatewayKeys } from './auth.js';
import { deepgramSttSession, deepgramTtsSession } from './deepgram.js';
import { Ledger, type LedgerEntry, type LedgerKind, type LedgerProvider } from './ledger.js';
import { completionChunks, completionObject, writeSse } from './llm.js';
import { GatewayScriptSchema, type GatewayScript } from './script.js';
import type { WsCtx, WsHandler } from './session.js';
import { sttSession, type TranscriptCursor } from './stt.js';
import { ttsSession } from './tts.js';

export type { LedgerEntry } from './ledger.js';
export type { GatewayKeys, KeyPair } from './auth.js';

export interface GatewayOptions {
  /** Address to bind: the run namespace's address, or 127.0.0.1 in unit tests. Never the machine's external address. */
  host: string;
  /** TCP port; 0 picks a free one (read it back from `url`). */
  port: number;
  /** The scenario's `gateway:` block (GatewayScript input; defaults filled in here). */
  script: unknown;
  /** `{ [label]: { apiKey, apiSecret } }`: the JWT issuer → worker label map. */
  keys: unknown;
  /** One JSON object per gateway event (socket open/close, transcripts, idle closes). Default: none. */
  log?: (line: Record<string, unknown>) => void;
}

export interface Gateway {
  /** `http://host:port`: control API (`/_kit/*`). */
  url: string;
  /** The value for LIVEKIT_INFERENCE_URL (see gatewayInferenceUrl). */
  inferenceUrl: string;
  port: number;
  /** CLOCK_MONOTONIC ms at gateway start; add to a ledger time to line it up with timeline events. */
  startedAtMonotonicMs: number;
  /** Copy of the ledger, entries in open order. */
  ledger(): LedgerEntry[];
  /** Closes every socket (1001, ledger: closedBy 'gateway'), then the server. Idempotent. */
  close(): Promise<void>;
}

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * The LIVEKIT_INFERENCE_URL both runtimes accept for a gateway at host:port:
 * `http://<host>:<port>/v1`, the same shape as production's `https://agent-gateway.livekit.cloud/v1`.
 *
 * Why this works for both: agents-js (`inference/utils.ts getDefaultInferenceUrl`, then
 * `stt.ts`/`tts.ts connectWs`: `baseURL.replace('http', 'ws')` + `/stt?model=…`) and Python
 * (`inference/_utils.py get_default_inference_url`, then `base_url.replace("http", "ws", 1)`
 * + `/stt?model=…`) derive ws:// from http://; both LLM clients hand the URL to the OpenAI
 * SDK as `baseURL`/`base_url`, which appends `/chat/completions`. So the value must be
 * http(s), with no trailing slash.
 */
export function gatewayInferenceUrl(host: string, port: number): string {
  if (!host || /[\s/]/.test(host)) throw new KitError(`gateway host "${host}" is not a bare address`, { fix: 'pass an IP address such as 198.18.1.2 or 127.0.0.1' });
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new KitError(`gateway port ${port} is out of range`, { fix: 'pass a TCP port between 1 and 65535' });
  return `http://${hostForUrl(host)}:${port}/v1`;
}

/** Strip the optional `/v1` base path; returns the route ('/stt', '/chat/completions', ...). */
function route(pathname: string): string {
  const p = pathname.replace(/\/+$/, '') || '/';
  return p.startsWith('/v1/') ? p.slice(3) : p;
}

function sendJson(res: ServerResponse, status: number, body: unknown): number {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(s);
  return Buffer.byteLength(s);
}

function rejectUpgrade(socket: Duplex, status: number, reason: string): void {
  const body = JSON.stringify({ error: reason });
  const text = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 404 ? 'Not Found' : 'Bad Request';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

async function readBody(req: IncomingMessage, limit = 8 << 20): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new Error('request body too large');
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

/**
 * Start the gateway and resolve once it listens.
 *
 * @throws KitError (exit 2) when `script` or `keys` is malformed (message names the field),
 *   or when the address cannot be bound (EADDRINUSE, EADDRNOTAVAIL: e.g. the namespace
 *   address is not configured yet).
 */
export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const parsed = GatewayScriptSchema.safeParse(opts.script ?? {});
  if (!parsed.success) {
    throw new KitError(`gateway script is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`, {
      fix: "fix the scenario's gateway: block (schema: ts/providers/script.ts GatewayScriptSchema)",
    });
  }
  const script: GatewayScript = parsed.data;
  const keys: GatewayKeys = parseGatewayKeys(opts.keys);
  const log = (ev: string, data: Record<string, unknown> = {}) => opts.log?.({ ev, t: ledger.now(), ...data });

  const ledger = new Ledger();
  /** Per worker label (or '?' for unknown issuers): STT transcript cursor and LLM turn index. */
  const perWorker = new Map<string, { stt: TranscriptCursor; llm: number }>();
  const stateFor = (w: string | null) => {
    const k = w ?? '?';
    let s = perWorker.get(k);
    if (!s) perWorker.set(k, (s = { stt: { next: 0 }, llm: 0 }));
    return s;
  };
  const live = new Set<{ ws: WebSocket; ctx: WsCtx }>();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 16 << 20 });

  const server = createServer((req, res) => {
    void onRequest(req, res).catch((err: unknown) => {
      log('http.error', { error: String(err) });
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
      else res.destroy();
    });
  });

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const r = route(url.pathname);
    if (r === '/_kit/health' && req.method === 'GET') {
      sendJson(res, 200, { ok: true, startedAtMonotonicMs: ledger.startedAtMonotonicMs, now: ledger.now() });
      return;
    }
    if (r === '/_kit/ledger' && req.method === 'GET') {
      sendJson(res, 200, { sockets: ledger.snapshot(), startedAtMonotonicMs: ledger.startedAtMonotonicMs, now: ledger.now() });
      return;
    }
    if (r === '/stt' || r === '/tts' || r === '/listen' || r === '/speak') {
      sendJson(res, 426, { error: `${r} is a websocket endpoint` });
      return;
    }
    const isCompletions = r === '/chat/completions' && req.method === 'POST';
    const isModels = r === '/models' && req.method === 'GET';
    if (!isCompletions && !isModels) {
      sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });
      return;
    }

    const auth = authenticate(req, keys);
    const entry = ledger.open('llm', auth.ok ? auth.worker : null, url.pathname);
    entry.bytesIn += Number(req.headers['content-length'] ?? 0) || 0;
    if (!auth.ok) {
      log('auth.rejected', { id: entry.id, status: auth.status, reason: auth.reason });
      entry.bytesOut += sendJson(res, auth.status, { error: { message: auth.reason, type: 'authentication_error', code: auth.status } });
      ledger.close(entry, auth.status, 'gateway');
      return;
    }
    log('llm.open', { id: entry.id, worker: entry.worker, path: url.pathname });
    // the client hanging up mid-stream is the client closing
    res.on('close', () => ledger.close(entry, res.writableFinished ? res.statusCode : 499, res.writableFinished ? 'gateway' : 'client'));

    if (isModels) {
      entry.bytesOut += sendJson(res, 200, { object: 'list', data: [{ id: 'closekit/scripted', object: 'model', created: 0, owned_by: 'closekit' }] });
      return;
    }
    const raw = await readBody(req);
    entry.bytesIn = raw.length;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      entry.bytesOut += sendJson(res, 400, { error: { message: 'body is not JSON', type: 'invalid_request_error' } });
      return;
    }
    const st = stateFor(entry.worker);
    const turn = script.llm[Math.min(st.llm, script.llm.length - 1)]!;
    st.llm += 1;
    const id = `chatcmpl-${entry.id}`;
    const model = typeof body.model === 'string' ? body.model : 'closekit/scripted';
    log('llm.turn', { id: entry.id, worker: entry.worker, turn: 'text' in turn ? { text: turn.text } : { toolCall: turn.toolCall.name } });
    if (body.stream === true) {
      const includeUsage = Boolean((body.stream_options as { include_usage?: unknown } | undefined)?.include_usage);
      entry.bytesOut += await writeSse(res, completionChunks(turn, id, model, includeUsage));
    } else {
      entry.bytesOut += sendJson(res, 200, completionObject(turn, id, model));
    }
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    const r = route(url.pathname);
    const kind: LedgerKind | null = r === '/stt' || r === '/listen' ? 'stt' : r === '/tts' || r === '/speak' ? 'tts' : null;
    if (!kind) {
      rejectUpgrade(socket, 404, `no websocket route ${url.pathname}`);
      return;
    }
    const provider: LedgerProvider = r === '/listen' || r === '/speak' ? 'deepgram' : 'inference';
    const auth = provider === 'deepgram' ? authenticateToken(req, keys) : authenticate(req, keys);
    if (!auth.ok) {
      const e = ledger.open(kind, null, url.pathname, provider);
      log('auth.rejected', { id: e.id, status: auth.status, reason: auth.reason });
      rejectUpgrade(socket, auth.status, auth.reason);
      ledger.close(e, auth.status, 'gateway');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onWs(ws, kind, auth.worker, url, provider));
  });
  // Deepgram answers every upgrade with a request id (both plugins log the dg-* headers)
  wss.on('headers', (headers: string[], req: IncomingMessage) => {
    const r = route(new URL(req.url ?? '/', 'http://gateway').pathname);
    if (r === '/listen' || r === '/speak') headers.push(`dg-request-id: ${randomUUID()}`);
  });

  function onWs(ws: WebSocket, kind: LedgerKind, worker: string | null, url: URL, provider: LedgerProvider): void {
    const entry = ledger.open(kind, worker, url.pathname, provider);
    let gatewayClosed = false;
    const ctx: WsCtx = {
      entry,
      worker,
      query: url.searchParams,
      send(msg) {
        if (ws.readyState !== WebSocket.OPEN) return;
        const s = JSON.stringify(msg);
        entry.bytesOut += Buffer.byteLength(s);
        ws.send(s);
      },
      sendError(code, message) {
        if (ws.readyState !== WebSocket.OPEN) return;
        ctx.send(code === undefined ? { type: 'error', message } : { type: 'error', code, message });
        if (code !== undefined) entry.errorsSent.push(code);
      },
      closeByGateway(code, reason) {
        // only an OPEN socket is ours to close; CLOSING means the client spoke first
        if (ws.readyState !== WebSocket.OPEN) return;
        gatewayClosed = true;
        ws.close(code, reason);
      },
      closeOnRequest(code, reason) {
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.close(code, reason);
      },
      sendBinary(data) {
        if (ws.readyState !== WebSocket.OPEN) return;
        entry.bytesOut += data.length;
        ws.send(data);
      },
      isOpen: () => ws.readyState === WebSocket.OPEN,
      log,
    };
    const cursor = () => (script.stt.transcriptScope === 'worker' ? stateFor(worker).stt : { next: 0 });
    const handler: WsHandler =
      provider === 'deepgram'
        ? kind === 'stt'
          ? deepgramSttSession(ctx, script.stt, cursor())
          : deepgramTtsSession(ctx, script.tts)
        : kind === 'stt'
          ? sttSession(ctx, script.stt, cursor())
          : ttsSession(ctx, script.tts);
    const rec = { ws, ctx };
    live.add(rec);
    log(`${kind}.open`, { id: entry.id, worker, model: url.searchParams.get('model'), provider });

    ws.on('message', (data: Buffer, isBinary: boolean) => {
      entry.bytesIn += data.length;
      if (isBinary) {
        handler.onBinary?.(data);
        return;
      }
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString('utf8'));
      } catch {
        if (provider === 'deepgram') log(`${kind}.bad_text`, { id: entry.id });
        else ctx.sendError(undefined, 'message is not JSON');
        return;
      }
      if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return;
      handler.onMessage(msg as Record<string, unknown>);
    });
    ws.on('error', (err) => log(`${kind}.ws_error`, { id: entry.id, error: String(err) }));
    ws.on('close', (code: number) => {
      live.delete(rec);
      handler.onClose();
      ledger.close(entry, code, gatewayClosed ? 'gateway' : 'client');
      log(`${kind}.close`, { id: entry.id, worker, code, closedBy: entry.closedBy });
    });
  }

  await new Promise<void>((resolve, reject) => {
    const onErr = (err: NodeJS.ErrnoException) => {
      reject(
        new KitError(`provider gateway cannot listen on ${opts.host}:${opts.port}: ${err.code ?? err.message}`, {
          fix: err.code === 'EADDRINUSE' ? 'pick another --port or stop what holds it' : 'bind an address this machine (or the run namespace) has: 127.0.0.1 or the namespace address',
          cause: err,
        }),
      );
    };
    server.once('error', onErr);
    server.listen(opts.port, opts.host, () => {
      server.off('error', onErr);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${hostForUrl(opts.host)}:${port}`;
  log('listening', { url });

  let closing: Promise<void> | null = null;
  return {
    url,
    inferenceUrl: gatewayInferenceUrl(opts.host, port),
    port,
    startedAtMonotonicMs: ledger.startedAtMonotonicMs,
    ledger: () => ledger.snapshot(),
    close() {
      closing ??= (async () => {
        for (const { ctx } of live) ctx.closeByGateway(1001, 'gateway shutting down');
        // give clients a moment to answer the close frame, then cut what is left
        const deadline = Date.now() + 2000;
        while (live.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        for (const { ws } of live) ws.terminate();
        wss.close();
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      })();
      return closing;
    },
  };
}
