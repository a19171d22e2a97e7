/**
 * Per-run LiveKit API key pairs. Every run makes fresh ones so that a leaked config or log
 * never unlocks another run, and so the gateway can tell workers apart by the JWT issuer
 * (internals.md, "livekit-server": one pair per worker: js, py, kit).
 */
import { randomBytes } from 'node:crypto';
import { KitError } from '../errors.js';

export interface KeyPair {
  /** Who uses the pair: 'js', 'py', 'kit', ... (lowercase letters and digits). */
  label: string;
  /** `ck<label><8 hex>`, e.g. `ckjs3fa91c0d`; this is the JWT `iss` claim. */
  apiKey: string;
  /** 43 base64url characters (32 random bytes); livekit-server wants at least 32. */
  apiSecret: string;
}

/**
 * Makes a random key pair for `label`. Never returns the well-known devkey/secret.
 * @throws KitError when `label` is not 1-12 lowercase letters/digits (it becomes part of
 *   the key, which livekit-server reads from YAML and the gateway parses back).
 */
export function newKeyPair(label: string): KeyPair {
  if (!/^[a-z0-9]{1,12}$/.test(label)) {
    throw new KitError(`key label ${JSON.stringify(label)} is not 1-12 lowercase letters or digits`, {
      fix: 'use a short label such as "js", "py" or "kit"',
    });
  }
  return {
    label,
    apiKey: `ck${label}${randomBytes(4).toString('hex')}`,
    apiSecret: randomBytes(32).toString('base64url'),
  };
}

/** `{ [apiKey]: apiSecret }`, the shape livekit-server's `keys:` config and `startLivekitServer` take. */
export function keysMap(pairs: KeyPair[]): Record<string, string> {
  return Object.fromEntries(pairs.map((p) => [p.apiKey, p.apiSecret]));
}
