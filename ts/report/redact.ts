/**
 * Redaction for everything the reports write (issue-*.md, report.html, junit.xml): run logs
 * and timelines carry the run's API keys, JWTs, namespace addresses, the machine's paths and
 * (for SIP callers) phone numbers and digest credentials. Reports are meant to be pasted
 * into public GitHub issues, so every string goes through `redact` on its way out.
 *
 * The rules are deliberately pattern based (not a list of the run's own secrets only):
 * logs quote values the kit never saw (a SIP trunk password in a user's config, a token
 * minted by the SDK). Known values (the run's key pairs) can be added on top with
 * `makeRedactor({ secrets })`, which catches them whatever their shape.
 */
import os from 'node:os';
import { ROOT } from '../config.js';

export interface RedactOptions {
  /** Absolute path of the kit checkout, replaced with `<kit>` (default: this checkout). */
  root?: string;
  /** Exact strings to replace with `<secret>` (e.g. the run's API secrets), any shape. */
  secrets?: string[];
  /** Host name to remove (default: os.hostname()); only whole-word, and only when >= 3 chars. */
  hostname?: string;
}

export type Redactor = ((text: string) => string) & { json: <T>(value: T) => T };

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Field names whose values are secrets whatever they look like. `token` alone only as a
// whole name segment so LLM usage counters ("prompt_tokens": 12) survive.
const SECRET_KEY = /^(?:.*[_-])?(?:api[_-]?key|apikey|api[_-]?secret|secret|client[_-]?secret|password|passwd|pass|token|access[_-]?token|auth[_-]?token|refresh[_-]?token|authorization|sip[_-]?password|auth[_-]?password)$/i;
const SECRET_KEY_CAMEL = /(?:apiKey|apiSecret|Secret|Password|Token|authPassword)$/;

/** True when a field name (JSON key, env var, `key=value` name) holds a secret. */
export function isSecretKey(name: string): boolean {
  return SECRET_KEY.test(name) || SECRET_KEY_CAMEL.test(name);
}

// Values that are not secrets even under a secret-ish name: counters, booleans, nulls.
// Also test fixtures' placeholders (`apiKey: 'test-key'` in upstream's own tests a patch adds to).
const HARMLESS_VALUE = /^(?:\d+|null|none|true|false|undefined|digest|bearer|basic|<[a-z-]+>|\*+|(?:test|fake|dummy)(?:[-_][a-z]+)*)$/i;

// An identifier path followed by `(`: a function call in source code.
const CALL_VALUE = /^[A-Za-z_][\w.]*\(/;

/** An IPv4 address is loopback/unspecified (kept) or anything else (redacted). */
function keepIpv4(ip: string): boolean {
  return ip.startsWith('127.') || ip === '0.0.0.0';
}

/**
 * Build a redactor. The returned function redacts one string; `.json(v)` redacts a value
 * deeply (object keys and string values; values under secret-ish keys are replaced whole).
 * Pure: no I/O. Never throws.
 */
export function makeRedactor(opts: RedactOptions = {}): Redactor {
  const root = (opts.root ?? ROOT).replace(/\/+$/, '');
  const secrets = (opts.secrets ?? []).filter((s) => s && s.length >= 6).sort((a, b) => b.length - a.length);
  const host = opts.hostname ?? os.hostname();
  const hostRe = host && host.length >= 3 && !['localhost'].includes(host) ? new RegExp(`\\b${escapeRe(host)}\\b`, 'g') : null;

  const redact = (input: string): string => {
    if (!input) return input;
    let s = input;
    for (const sec of secrets) s = s.split(sec).join('<secret>');
    // Paths first: the kit root may itself sit under a home directory.
    if (root.length > 1) s = s.replace(new RegExp(`${escapeRe(root)}(?=/|\\b|$)`, 'g'), '<kit>');
    // Also after a JSON-escaped tab or newline (`\t/root/go/...` in a logged Go stack trace).
    s = s.replace(/(?:(?<![\w.-])|(?<=\\[tnr]))\/home\/[^/\s"'`<>:\\]+/g, '<home>');
    s = s.replace(/(?:(?<![\w.-])|(?<=\\[tnr]))\/root(?=\/|\b)(?!\.)/g, '<home>');
    s = s.replace(/(?:(?<![\w.-])|(?<=\\[tnr]))\/Users\/[^/\s"'`<>:\\]+/g, '<home>');
    // JWTs (access tokens: header.payload.signature, base64url; the header always starts eyJ).
    s = s.replace(/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '<jwt>');
    s = s.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, '$1 <redacted>');
    // SIP digest auth headers: everything after the scheme is credential material.
    s = s.replace(/\b((?:Proxy-)?Authorization\s*:\s*Digest)\s+(?:[\w-]+\s*=\s*(?:\\?"[^"\\]*\\?"|[^,\s"\\]+)[ \t]*,?[ \t]*)+/gi, '$1 <redacted>');
    // sip:/sips: URIs with a user:password@ part.
    s = s.replace(/\b(sips?:)[^\s@:;<>"']+:[^\s@;<>"']+@/gi, '$1<redacted>@');
    // The kit's API keys: ck<label><8 hex> (ts/stack/keys.ts), and LiveKit's API... keys.
    s = s.replace(/\bck[a-z]{1,16}[0-9a-f]{8}\b/g, '<api-key>');
    s = s.replace(/\bAPI[A-Za-z0-9]{10,14}\b/g, (m) => (/\d/.test(m) && /[a-z]/.test(m) ? '<api-key>' : m));
    // `"name": "value"` / `name='value'` / `name=value` where the name says secret. Quoted
    // values may hold spaces and escaped quotes; unquoted ones end at a delimiter.
    s = s.replace(/(["']?)([A-Za-z_][\w.-]*)\1(\s*[:=]\s*)(["'])((?:\\.|(?!\4)[^\\])*)\4/g, (m, q1: string, name: string, sep: string, q2: string, value: string) =>
      isSecretKey(name) && !HARMLESS_VALUE.test(value) ? `${q1}${name}${q1}${sep}${q2}<redacted>${q2}` : m,
    );
    // A value that is a call (`close_token = ctx.attach(span)` in upstream code a patch quotes) is code, not a secret.
    s = s.replace(/(["']?)([A-Za-z_][\w.-]*)\1(\s*[:=]\s*)([^"'\s,;}&)\]<]+)/g, (m, q1: string, name: string, sep: string, value: string) =>
      isSecretKey(name) && !HARMLESS_VALUE.test(value) && !CALL_VALUE.test(value) ? `${q1}${name}${q1}${sep}<redacted>` : m,
    );
    // 43-char base64url secrets (32 random bytes; the kit's secrets and LiveKit's look so).
    s = s.replace(/(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g, (m) => (/[A-Z]/.test(m) && /[a-z]/.test(m) && /\d/.test(m) ? '<secret>' : m));
    // Phone numbers: E.164 (+ and 7..15 digits), also inside sip:/tel: URIs.
    s = s.replace(/(?<![\w+])\+[1-9]\d{6,14}\b/g, '<phone>');
    s = s.replace(/\b(sips?:|tel:)\d{7,15}\b/gi, '$1<phone>');
    // IPv4 other than loopback (198.18.x.x namespace addresses included).
    s = s.replace(/(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d]|\.\d)/g, (m, a: string, b: string, c: string, d: string) =>
      [a, b, c, d].every((o) => Number(o) <= 255) && !keepIpv4(m) ? '<ip>' : m,
    );
    // IPv6: only the unambiguous forms (with `::`, or all 8 groups) so clock times survive.
    s = s.replace(/(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}(?![\w:])/g, '<ip>');
    s = s.replace(/(?<![\w:])(?:[0-9a-fA-F]{1,4}:){1,6}:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4})*)?(?![\w:])/g, (m) => (/^[0-9a-f]{1,4}:/i.test(m) && /[0-9a-f]/i.test(m) ? '<ip>' : m));
    // Host names: the structured fields loggers add, and the machine's own name.
    s = s.replace(/(["']?)hostname\1(\s*[:=]\s*)(["']?)[^"'\s,}]+\3/gi, '$1hostname$1$2$3<host>$3');
    if (hostRe) s = s.replace(hostRe, '<host>');
    return s;
  };

  const json = <T>(value: T): T => {
    const walk = (v: unknown, key: string | null): unknown => {
      if (typeof v === 'string') return key !== null && isSecretKey(key) && !HARMLESS_VALUE.test(v) ? '<redacted>' : redact(v);
      if (Array.isArray(v)) return v.map((x) => walk(x, null));
      if (v && typeof v === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) out[redact(k)] = walk(x, k);
        return out;
      }
      return v;
    };
    return walk(value, null) as T;
  };

  return Object.assign(redact, { json });
}

let defaultRedactor: Redactor | null = null;

/** Redact one string with the default rules (this checkout's root, this machine's name). */
export function redact(text: string): string {
  defaultRedactor ??= makeRedactor();
  return defaultRedactor(text);
}

/** Deep redaction of a JSON-like value with the default rules; returns a new value. */
export function redactJson<T>(value: T): T {
  defaultRedactor ??= makeRedactor();
  return defaultRedactor.json(value);
}
