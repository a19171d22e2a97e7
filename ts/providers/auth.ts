/**
 * Bearer-JWT check for the gateway, the way LiveKit Inference authenticates agents.
 *
 * Both clients mint the token the same way: agents-js `inference/utils.ts createAccessToken`
 * and Python `livekit/agents/inference/_utils.py create_access_token` build a livekit
 * AccessToken (HS256, `iss` = API key, `sub` = "agent", ttl 600 s) with the grant
 * `inference: { perform: true }`, sent as `Authorization: Bearer <jwt>` on the websocket
 * upgrade (STT, TTS) and on every chat-completions request (LLM, via the OpenAI client's
 * apiKey).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { KitError } from '../errors.js';

// extra fields (ts/stack/keys.ts KeyPair carries `label`) are allowed and dropped
export const KeyPairSchema = z.object({ apiKey: z.string().min(1), apiSecret: z.string().min(1) });
/** `{ [label]: { apiKey, apiSecret } }`, one pair per worker ('js', 'py', 'kit'). */
export const GatewayKeysSchema = z.record(KeyPairSchema);
export type KeyPair = z.infer<typeof KeyPairSchema>;
export type GatewayKeys = z.infer<typeof GatewayKeysSchema>;

export type AuthResult =
  | { ok: true; worker: string | null; apiKey: string; verified: boolean }
  | { ok: false; status: 401 | 403; reason: string };

/** Clock skew (s) tolerated on exp/nbf; the clients' hosts share this clock, so it is small. */
const LEEWAY_S = 10;

function b64urlJson(part: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Validate `keys` (parsed JSON). Throws KitError naming the fix when malformed or when two
 * labels share one API key (the ledger could not tell their sockets apart).
 */
export function parseGatewayKeys(keys: unknown): GatewayKeys {
  const r = GatewayKeysSchema.safeParse(keys);
  if (!r.success) {
    throw new KitError(`gateway keys are malformed: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
      fix: 'pass keys as { "<label>": { "apiKey": "...", "apiSecret": "..." } }, one pair per worker (ts/stack/keys.ts newKeyPair)',
    });
  }
  const seen = new Map<string, string>();
  for (const [label, kp] of Object.entries(r.data)) {
    const other = seen.get(kp.apiKey);
    if (other) {
      throw new KitError(`gateway keys "${other}" and "${label}" share the API key ${kp.apiKey}`, {
        fix: 'generate one key pair per worker label so the ledger can tell their sockets apart',
      });
    }
    seen.set(kp.apiKey, label);
  }
  return r.data;
}

/**
 * Authenticate one request from its `Authorization: Bearer <jwt>` header.
 *
 * - no/malformed token → 401;
 * - issuer is a known API key → HS256 signature checked with its secret, exp/nbf checked
 *   (±10 s): bad → 401; the worker label is the key's label;
 * - issuer unknown → accepted unverified with worker null (the kit holds no secret to check
 *   it; the ledger shows it as an unlabelled socket);
 * - no `inference.perform` grant → 403 (both clients always add it).
 *
 * @param nowS current time in seconds since the epoch (for tests).
 */
export function authenticate(req: IncomingMessage, keys: GatewayKeys, nowS: number = Date.now() / 1000): AuthResult {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  if (!m) return { ok: false, status: 401, reason: 'missing Authorization: Bearer token' };
  const parts = m[1]!.split('.');
  if (parts.length !== 3) return { ok: false, status: 401, reason: 'token is not a JWT' };
  const [h64, p64, s64] = parts as [string, string, string];
  const header = b64urlJson(h64);
  const payload = b64urlJson(p64);
  if (!header || !payload) return { ok: false, status: 401, reason: 'token header/payload is not JSON' };
  const iss = payload.iss;
  if (typeof iss !== 'string' || !iss) return { ok: false, status: 401, reason: 'token has no iss (API key)' };

  const known = Object.entries(keys).find(([, kp]) => kp.apiKey === iss);
  let worker: string | null = null;
  let verified = false;
  if (known) {
    const [label, kp] = known;
    if (header.alg !== 'HS256') return { ok: false, status: 401, reason: `unsupported alg ${String(header.alg)}` };
    const want = createHmac('sha256', kp.apiSecret).update(`${h64}.${p64}`).digest();
    const got = Buffer.from(s64, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      return { ok: false, status: 401, reason: `bad signature for API key ${iss}` };
    }
    if (typeof payload.exp === 'number' && nowS > payload.exp + LEEWAY_S) return { ok: false, status: 401, reason: 'token expired' };
    if (typeof payload.nbf === 'number' && nowS + LEEWAY_S < payload.nbf) return { ok: false, status: 401, reason: 'token not yet valid' };
    worker = label;
    verified = true;
  }
  const inference = payload.inference as { perform?: unknown } | undefined;
  if (!inference || inference.perform !== true) return { ok: false, status: 403, reason: 'token lacks the inference.perform grant' };
  return { ok: true, worker, apiKey: iss, verified };
}

/**
 * Authenticate a Deepgram request: `Authorization: Token <api key>`, as both Deepgram
 * plugins send it (agents-js `agents-plugin-deepgram` `stt.ts`/`tts.ts`, Python
 * `livekit/plugins/deepgram/stt.py`/`tts.py`). The shims pass their worker's LiveKit API
 * key as the Deepgram key, so the key names the worker (no secret travels; Deepgram keys
 * are opaque bearer strings, so there is nothing to verify either):
 * - no `Token` header → 401;
 * - a known API key → its worker label (`verified: false`: a key alone proves nothing);
 * - any other key → accepted with worker null (an unlabelled socket in the ledger).
 */
export function authenticateToken(req: IncomingMessage, keys: GatewayKeys): AuthResult {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Token\s+(\S+)$/i.exec(h) : null;
  if (!m) return { ok: false, status: 401, reason: 'missing Authorization: Token <key>' };
  const key = m[1]!;
  const known = Object.entries(keys).find(([, kp]) => kp.apiKey === key);
  return { ok: true, worker: known ? known[0] : null, apiKey: key, verified: false };
}
