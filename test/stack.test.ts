/**
 * The stack's parts against the real livekit-server binary in real network namespaces.
 * Needs root (ip netns) and `.kit/bin/livekit-server` (make setup).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoomServiceClient } from 'livekit-server-sdk';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LIVEKIT_SERVER_BIN, ROOT } from '../ts/config.js';
import { KitError } from '../ts/errors.js';
import { keysMap, newKeyPair } from '../ts/stack/keys.js';
import { LIVEKIT_CHILD, livekitConfig, startLivekitServer } from '../ts/stack/livekit-server.js';
import { createRunNetwork, listKitNamespaces, netnsName, type RunNetwork } from '../ts/stack/netns.js';
import { livekitServerStep } from '../ts/stack/steps.js';
import { SETPRIV, Supervisor } from '../ts/stack/supervisor.js';

const canRun = process.getuid?.() === 0 && existsSync(LIVEKIT_SERVER_BIN);
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function runId(tag: string): string {
  return `t${tag}${process.pid.toString(36)}`.slice(0, 8);
}

async function newRun(tag: string): Promise<{ net: RunNetwork; sup: Supervisor; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), `closekit-${tag}-`));
  const net = await createRunNetwork(runId(tag), { allowHost: false });
  const sup = new Supervisor({ runId: tag, logsDir: join(dir, 'logs'), net, handleSignals: false });
  cleanups.push(async () => {
    await sup.teardown();
    rmSync(dir, { recursive: true, force: true });
  });
  return { net, sup, dir };
}

function listening(addr: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: addr, port, timeout: 1000 });
    const done = (v: boolean) => { s.destroy(); resolve(v); };
    s.once('connect', () => done(true)).once('error', () => done(false)).once('timeout', () => done(false));
  });
}

describe('run network names', () => {
  it('keeps short ids readable and gives long ids with a shared prefix distinct names', () => {
    expect(netnsName('jsu11d64')).toBe('ck-jsu11d64');
    const a = netnsName('20261122-023458-a365');
    const b = netnsName('20261122-023458-b001');
    expect(a).toMatch(/^ck-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    expect(() => netnsName('---')).toThrow(KitError);
  });
});

describe.skipIf(!canRun)('run network', () => {
  it('gives two concurrent runs their own namespace and /24, and deletes both', async () => {
    const [a, b] = await Promise.all([createRunNetwork(runId('na'), { allowHost: false }), createRunNetwork(runId('nb'), { allowHost: false })]);
    cleanups.push(() => a.destroy(), () => b.destroy());
    expect(a.mode).toBe('netns');
    expect(a.nsAddr).toMatch(/^198\.18\.\d+\.2$/);
    expect(a.nsAddr).not.toBe(b.nsAddr);
    expect(listKitNamespaces()).toEqual(expect.arrayContaining([a.name, b.name]));
    await Promise.all([a.destroy(), b.destroy()]);
    expect(listKitNamespaces()).not.toContain(a.name);
    expect(listKitNamespaces()).not.toContain(b.name);
    expect(existsSync(`/sys/class/net/${a.hostVeth}`)).toBe(false);
  });
});

describe.skipIf(process.getuid?.() !== 0)('run network without privileges', () => {
  // Runs the probe as user nobody, where `ip netns add` is not permitted. nobody cannot read
  // a clone under a private home (/root is 0700), so the probe runs from one file bundled
  // (esbuild) into a folder it can read, whatever the clone path and the umask.
  let probeDir = '';
  beforeAll(async () => {
    probeDir = mkdtempSync(join(tmpdir(), 'ck-probe-'));
    chmodSync(probeDir, 0o755);
    const outfile = join(probeDir, 'netns-probe.mjs');
    await build({
      entryPoints: [join(ROOT, 'test/fixtures/netns-probe.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      // CommonJS dependencies inside an ESM bundle still call require().
      banner: { js: "import { createRequire as __ckRequire } from 'node:module'; const require = __ckRequire(import.meta.url);" },
      logLevel: 'error',
    });
    chmodSync(outfile, 0o644);
  });
  afterAll(() => rmSync(probeDir, { recursive: true, force: true }));

  function probe(...args: string[]): Record<string, unknown> {
    const out = execFileSync(SETPRIV, ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(probeDir, 'netns-probe.mjs'), ...args], {
      cwd: probeDir,
      encoding: 'utf8',
      env: { ...process.env, HOME: probeDir },
    });
    return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
  }

  it('falls back to host networking on 127.0.0.1 and records why', () => {
    const r = probe(runId('hm'));
    expect(r).toMatchObject({ mode: 'host', nsAddr: '127.0.0.1' });
    expect(r.reason).toMatch(/not permitted|permission denied/i);
  });

  it('with allowHost false, refuses with KitError exit 2 naming the fix', () => {
    const r = probe(runId('hn'), '--no-host');
    expect(r).toMatchObject({ exitCode: 2 });
    expect(r.error).toMatch(/network namespaces unavailable/);
    expect(r.fix).toMatch(/root/);
  });
});

describe.skipIf(!canRun)('supervisor', () => {
  it('runs children inside the namespace, logging stdout and stderr to <logsDir>/<name>.log', async () => {
    const { net, sup } = await newRun('sv');
    const c = sup.spawn('where', 'sh', ['-c', 'ip -o -4 addr show; echo to-stderr >&2']);
    expect(await c.exited).toBe(0);
    const log = readFileSync(c.logFile, 'utf8');
    expect(c.logFile).toBe(join(sup.logsDir, 'where.log'));
    expect(log).toContain(`inet ${net.nsAddr}/24`);
    expect(log).not.toContain(`inet ${net.hostAddr}/24`); // the root namespace's end is not visible inside
    expect(log).toContain('to-stderr');
  });

  it('stop() escalates to SIGKILL for a child that ignores SIGTERM; teardown is idempotent and final', async () => {
    const { net, sup } = await newRun('sk');
    const c = sup.spawn('stubborn', 'sh', ['-c', 'trap "" TERM; echo armed; while :; do sleep 0.1; done']);
    for (let i = 0; i < 50 && !readFileSync(c.logFile, 'utf8').includes('armed'); i++) await new Promise((r) => setTimeout(r, 50));
    await sup.stop('stubborn', 'SIGTERM', 300);
    expect(c.done).toBe(true);
    expect(await c.exited).toBeNull(); // ended by a signal, not an exit code

    const first = sup.teardown();
    expect(sup.teardown()).toBe(first);
    await first;
    expect(listKitNamespaces()).not.toContain(net.name);
    expect(() => sup.spawn('late', 'true', [])).toThrow(KitError);
  });
});

describe.skipIf(!canRun)('livekit-server', () => {
  it('starts in a fresh namespace and serves RoomService: create, list, delete a room', async () => {
    const { net, sup } = await newRun('lk');
    const kit = newKeyPair('kit');
    const lk = await startLivekitServer(sup, { keys: keysMap([kit, newKeyPair('js')]) });
    expect(lk.wsUrl).toBe(`ws://${net.nsAddr}:7880`);
    expect(await net.pids()).toContain(lk.pid);

    const rooms = new RoomServiceClient(lk.httpUrl, kit.apiKey, kit.apiSecret);
    await rooms.createRoom({ name: 'closekit-room', emptyTimeout: 60 });
    expect((await rooms.listRooms()).map((r) => r.name)).toContain('closekit-room');
    await rooms.deleteRoom('closekit-room');
    expect((await rooms.listRooms()).map((r) => r.name)).not.toContain('closekit-room');

    // A key the server was not given must be refused: the per-run keys are the only ones.
    const stranger = new RoomServiceClient(lk.httpUrl, 'devkey', 'secret'.padEnd(32, 'x'));
    await expect(stranger.listRooms()).rejects.toThrow();

    await sup.teardown();
    expect(listKitNamespaces()).not.toContain(net.name);
  });

  it('refuses a port that is already taken with KitError exit 2 naming the port, leaving nothing running', async () => {
    const { net, sup } = await newRun('port');
    const blocker = sup.spawn('blocker', process.execPath, [join(ROOT, 'test/fixtures/blocker.mjs'), net.nsAddr, '7880']);
    for (let i = 0; i < 100 && !(await listening(net.nsAddr, 7880)); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await listening(net.nsAddr, 7880)).toBe(true);

    const err = await startLivekitServer(sup, { keys: keysMap([newKeyPair('kit')]) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KitError);
    expect((err as KitError).exitCode).toBe(2);
    expect((err as KitError).message).toContain('7880');
    expect((err as KitError).fix).toMatch(/ss -ltnp/);
    const lkChild = sup.get(LIVEKIT_CHILD);
    expect(lkChild === undefined || lkChild.done).toBe(true);
    expect(await net.pids()).toEqual([blocker.pid]);

    await sup.teardown();
    expect(blocker.done).toBe(true);
    expect(listKitNamespaces()).not.toContain(net.name);
  });

  it('names the port when livekit-server itself fails to bind (port taken behind a given config)', async () => {
    const { net, sup, dir } = await newRun('bind');
    const blocker = sup.spawn('blocker', process.execPath, [join(ROOT, 'test/fixtures/blocker.mjs'), net.nsAddr, '7890']);
    for (let i = 0; i < 100 && !(await listening(net.nsAddr, 7890)); i++) await new Promise((r) => setTimeout(r, 50));
    const keys = keysMap([newKeyPair('kit')]);
    const conf = join(dir, 'own.yaml');
    // The pre-check only knows opts.ports (7880 free); the file says 7890, so the server's own bind fails.
    writeFileSync(conf, livekitConfig({ nsAddr: net.nsAddr, keys, ports: { http: 7890, rtcTcp: 7891, udpStart: 50000, udpEnd: 50100 } }));
    const err = await startLivekitServer(sup, { keys, configFile: conf }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KitError);
    expect((err as KitError).exitCode).toBe(2);
    expect((err as KitError).message).toMatch(/port 7890 .* already taken/);
    expect(sup.get(LIVEKIT_CHILD)?.done).toBe(true);
    expect(await net.pids()).toEqual([blocker.pid]);
  });

  it('reports an unparsable config with KitError and the log tail, and stops the process', async () => {
    const { net, sup, dir } = await newRun('cfg');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'port: [7880\nkeys: {');
    const err = await startLivekitServer(sup, { keys: keysMap([newKeyPair('kit')]), configFile: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KitError);
    expect((err as KitError).exitCode).toBe(2);
    expect((err as KitError).message).toContain(bad);
    expect((err as KitError).message).toMatch(/could not parse config|yaml/);
    expect(sup.get(LIVEKIT_CHILD)?.done).toBe(true);
    expect(await net.pids()).toEqual([]);
  });

  it('reports a missing config file with KitError before starting anything', async () => {
    const { sup, dir } = await newRun('nocfg');
    const err = await startLivekitServer(sup, { keys: keysMap([newKeyPair('kit')]), configFile: join(dir, 'nope.yaml') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KitError);
    expect((err as KitError).message).toContain('not readable');
    expect(sup.get(LIVEKIT_CHILD)).toBeUndefined();
  });
});

describe('livekit-server setup step', () => {
  it.skipIf(!existsSync(LIVEKIT_SERVER_BIN))('check() reports the pinned version of the installed binary', async () => {
    const st = await livekitServerStep().check();
    expect(st).toMatchObject({ ok: true, found: '1.13.5' });
  });

  it('install() without go on PATH throws KitError naming how to install Go, and leaves the binary alone', async () => {
    const before = existsSync(LIVEKIT_SERVER_BIN) ? statSync(LIVEKIT_SERVER_BIN).mtimeMs : null;
    const noGoPath = '/nonexistent-closekit';
    const step = livekitServerStep({ env: { PATH: noGoPath, HOME: process.env.HOME ?? '/root' } });
    const err = await step.install(() => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KitError);
    expect((err as KitError).exitCode).toBe(2);
    expect((err as KitError).message).toMatch(/`go` is not on PATH/);
    expect((err as KitError).fix).toMatch(/go\.dev\/doc\/install/);
    expect(existsSync(LIVEKIT_SERVER_BIN) ? statSync(LIVEKIT_SERVER_BIN).mtimeMs : null).toBe(before);
  });
});
