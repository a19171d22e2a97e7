/** Small network probes the stack's start functions share. */
import { connect } from 'node:net';
import { KitError } from '../errors.js';

/** true when something accepts TCP connections at host:port (bounded by 1 s). */
export function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port, timeout: 1000 });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => done(true));
    s.once('timeout', () => done(false));
    s.once('error', () => done(false));
  });
}

/** The KitError (exit 2) for a port some other process holds, naming how to find it. */
export function portTaken(what: string, host: string, port: number, log?: string): KitError {
  return new KitError(`port ${port} on ${host} is already taken (${what})${log ? `:\n${log}` : ''}`, {
    fix: `stop whatever listens on ${host}:${port} (inside the run namespace: ip netns exec <ns> ss -ltnp, or ss -lunp for UDP), or pass other ports`,
  });
}
