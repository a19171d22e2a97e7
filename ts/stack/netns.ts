/**
 * The run network (internals.md, "The run network"): one network namespace per run with a
 * veth pair, so that libwebrtc peers (which never use loopback ICE candidates, RFC 8445)
 * can reach livekit-server without touching the machine's external interface, and so that
 * parallel runs cannot collide on ports.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { NET } from '../config.js';
import { KitError } from '../errors.js';

export interface RunNetwork {
  /** 'host' only where namespaces are unavailable (no root, no iproute2); recorded in results. */
  mode: 'netns' | 'host';
  /** Namespace name `ck-<runid8>`, or null in host mode. */
  name: string | null;
  /** Root-namespace end of the veth, 198.18.<n>.1 (127.0.0.1 in host mode). */
  hostAddr: string;
  /** Where components bind, 198.18.<n>.2 (127.0.0.1 in host mode). */
  nsAddr: string;
  /** Host end of the veth pair (`ck<runid8>h`), or null in host mode. */
  hostVeth: string | null;
  /** Pid of the detached reaper, or null in host mode. */
  reaperPid: number | null;
  /** In host mode: why namespaces were not used. */
  hostReason?: string;
  /** `[cmd, args]` that runs `cmd args` inside the namespace (`ip netns exec <name> ...`). */
  wrap(cmd: string, args: string[]): [string, string[]];
  /** Pids currently inside the namespace (`ip netns pids`); [] in host mode. */
  pids(): Promise<number[]>;
  /** Kills every pid in the namespace, deletes it, the host veth and the claim. Idempotent. */
  destroy(): Promise<void>;
}

/** Where address claims live; one file per taken /24 (`<n>.claim`, JSON {pid, ns}). */
export const CLAIM_DIR = join(tmpdir(), 'closekit-net');
const REAPER = join(dirname(fileURLToPath(import.meta.url)), 'reaper.sh');
const FIRST_NET = 1;
const LAST_NET = 250;

/**
 * `ck-<id8>`: the run id lowercased to [a-z0-9] when that is at most 8 characters, else the
 * first 8 hex digits of its sha1 (truncating would make ids that share a prefix, such as
 * date-stamped ones, collide). 8 keeps the veth names within Linux's 15-character limit.
 * @throws KitError when the run id has no letters or digits.
 */
export function netnsName(runId: string): string {
  const clean = runId.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (!clean) throw new KitError(`run id ${JSON.stringify(runId)} has no letters or digits`, { fix: 'pass a run id such as "r20250101a"' });
  return `ck-${clean.length <= 8 ? clean : createHash('sha1').update(runId).digest('hex').slice(0, 8)}`;
}

/**
 * Creates the run's namespace `ck-<runid8>` with a veth pair (host end 198.18.<n>.1/24,
 * namespace end 198.18.<n>.2/24, `lo` up), picking the lowest n in 1..250 that no address
 * on the machine and no live claim uses, and starts the detached reaper (reaper.sh) that
 * deletes everything if this process dies.
 *
 * Falls back to mode 'host' (127.0.0.1) only when `ip` is missing or `ip netns add` is not
 * permitted; `opts.allowHost: false` turns that into a KitError instead.
 * @throws KitError when the namespace already exists (another run with the same id, or a
 *   leftover), when all 250 /24s are taken, or when the veth cannot be set up.
 */
export async function createRunNetwork(runId: string, opts: { allowHost?: boolean } = {}): Promise<RunNetwork> {
  const name = netnsName(runId);
  if (existsSync(`/run/netns/${name}`)) {
    throw new KitError(`network namespace ${name} already exists (another run with id ${runId}, or a leftover)`, {
      fix: `pick another run id, or delete the leftover: ip netns del ${name}`,
    });
  }
  const add = await execa('ip', ['netns', 'add', name], { reject: false });
  if (add.failed) {
    const why = add.code === 'ENOENT' ? 'the `ip` command (iproute2) is missing' : String(add.stderr || add.message || "").trim();
    const unavailable = add.code === 'ENOENT' || /permitted|permission denied/i.test(why);
    if (!unavailable) throw new KitError(`ip netns add ${name} failed: ${why}`, { fix: 'check `ip netns list` and dmesg' });
    if (opts.allowHost === false) {
      throw new KitError(`network namespaces unavailable: ${why}`, { fix: 'run as root on Linux with iproute2 (apt-get install iproute2)' });
    }
    return hostNetwork(why);
  }
  const id = name.slice(3);
  const hostVeth = `ck${id}h`;
  const nsVeth = `ck${id}n`;
  let claim: { n: number; file: string } | null = null;
  let reaperPid: number | null = null;
  try {
    claim = await claimSubnet(name);
    reaperPid = startReaper(name, hostVeth, claim.file);
    const hostAddr = `${NET.prefix}.${claim.n}.${NET.hostOctet}`;
    const nsAddr = `${NET.prefix}.${claim.n}.${NET.nsOctet}`;
    await ip(['link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', nsVeth, 'netns', name]);
    await ip(['addr', 'add', `${hostAddr}/24`, 'dev', hostVeth]);
    await ip(['link', 'set', hostVeth, 'up']);
    await ip(['-n', name, 'addr', 'add', `${nsAddr}/24`, 'dev', nsVeth]);
    await ip(['-n', name, 'link', 'set', nsVeth, 'up']);
    await ip(['-n', name, 'link', 'set', 'lo', 'up']);
    return netnsNetwork({ name, hostVeth, hostAddr, nsAddr, claimFile: claim.file, reaperPid });
  } catch (err) {
    await removeNamespace(name, hostVeth, claim?.file ?? null, reaperPid);
    if (err instanceof KitError) throw err;
    throw new KitError(`could not set up the veth pair for ${name}: ${(err as Error).message}`, {
      fix: 'check `ip link` for leftover ck*h devices and delete them (ip link del <dev>)',
      cause: err,
    });
  }
}

function hostNetwork(reason: string): RunNetwork {
  return {
    mode: 'host',
    name: null,
    hostAddr: '127.0.0.1',
    nsAddr: '127.0.0.1',
    hostVeth: null,
    reaperPid: null,
    hostReason: reason,
    wrap: (cmd, args) => [cmd, args],
    pids: async () => [],
    destroy: async () => {},
  };
}

function netnsNetwork(o: { name: string; hostVeth: string; hostAddr: string; nsAddr: string; claimFile: string; reaperPid: number }): RunNetwork {
  let destroying: Promise<void> | null = null;
  return {
    mode: 'netns',
    name: o.name,
    hostAddr: o.hostAddr,
    nsAddr: o.nsAddr,
    hostVeth: o.hostVeth,
    reaperPid: o.reaperPid,
    wrap: (cmd, args) => ['ip', ['netns', 'exec', o.name, cmd, ...args]],
    pids: () => netnsPids(o.name),
    destroy() {
      destroying ??= removeNamespace(o.name, o.hostVeth, o.claimFile, o.reaperPid);
      return destroying;
    },
  };
}

/** Pids inside namespace `name` (`ip netns pids`); [] when it does not exist. */
export async function netnsPids(name: string): Promise<number[]> {
  const r = await execa('ip', ['netns', 'pids', name], { reject: false });
  if (r.failed) return [];
  return r.stdout.split(/\s+/).filter(Boolean).map(Number);
}

async function removeNamespace(name: string, hostVeth: string, claimFile: string | null, reaperPid: number | null): Promise<void> {
  // SIGKILL is right here: the supervisor already asked politely; this is the backstop.
  for (let i = 0; i < 40; i++) {
    const pids = await netnsPids(name);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    await sleep(50);
  }
  await execa('ip', ['netns', 'del', name], { reject: false });
  // Deleting the namespace destroys the pair asynchronously; delete our end now so the
  // /24 is free for the next run at once.
  await execa('ip', ['link', 'del', hostVeth], { reject: false });
  if (reaperPid) {
    try { process.kill(reaperPid, 'SIGTERM'); } catch { /* it exits by itself once the ns is gone */ }
  }
  if (claimFile) {
    try { unlinkSync(claimFile); } catch { /* already released */ }
  }
  // The reaper's log only matters when it had to act (the kit died before this ran).
  try { unlinkSync(join(CLAIM_DIR, `${name}.reaper.log`)); } catch { /* none */ }
}

async function ip(args: string[]): Promise<void> {
  const r = await execa('ip', args, { reject: false });
  if (r.failed) throw new Error(`ip ${args.join(' ')}: ${String(r.stderr || r.message || "").trim()}`);
}

/**
 * Claims the lowest free /24 with an exclusive-create file, which is atomic across
 * processes, so two runs starting at once cannot pick the same n. A claim is stale when
 * its owner pid is dead and its namespace is gone.
 */
async function claimSubnet(ns: string): Promise<{ n: number; file: string }> {
  mkdirSync(CLAIM_DIR, { recursive: true });
  const used = new Set<number>();
  const addrs = await execa('ip', ['-o', '-4', 'addr', 'show'], { reject: false });
  const re = new RegExp(`inet ${NET.prefix.replace('.', '\\.')}\\.(\\d+)\\.`, 'g');
  for (const m of addrs.stdout.matchAll(re)) used.add(Number(m[1]));
  for (let n = FIRST_NET; n <= LAST_NET; n++) {
    if (used.has(n)) continue;
    const file = join(CLAIM_DIR, `${n}.claim`);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        writeFileSync(fd, JSON.stringify({ pid: process.pid, ns }));
        closeSync(fd);
        return { n, file };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (!claimIsStale(file)) break;
        try { unlinkSync(file); } catch { /* someone else cleaned it */ }
      }
    }
  }
  throw new KitError(`no free ${NET.prefix}.<n>.0/24 for the run network (1..${LAST_NET} all taken)`, {
    fix: `delete leftover namespaces (ip netns list; ip netns del ck-...) and claims in ${CLAIM_DIR}`,
  });
}

function claimIsStale(file: string): boolean {
  try {
    const { pid, ns } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; ns: string };
    return !pidAlive(pid) && !existsSync(`/run/netns/${ns}`);
  } catch {
    return false; // being written right now
  }
}

function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** Field 22 of /proc/<pid>/stat: start time in clock ticks, for pid-reuse checks. */
function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(') ') + 2).split(' ')[19];
}

function startReaper(ns: string, hostVeth: string, claimFile: string): number {
  const log = openSync(join(CLAIM_DIR, `${ns}.reaper.log`), 'w');
  // detached: setsid(), so a SIGKILL or Ctrl-C to our process group does not reach it.
  const child = spawn('/bin/sh', [REAPER, String(process.pid), startTime(process.pid), ns, hostVeth, claimFile], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  child.unref();
  if (!child.pid) throw new Error('could not start the reaper');
  return child.pid;
}

/** Namespaces named ck-* that exist now (for doctor and for tests that check leftovers). */
export function listKitNamespaces(): string[] {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith('ck-'));
  } catch {
    return [];
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
