/**
 * Nothing outlives a run: a process that started the stack (namespace, livekit-server, a
 * WebRTC caller as a grandchild) is SIGKILLed, or gets SIGINT, and afterwards no process,
 * namespace, veth or listening port of that run is left. Needs root and the built binary.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { LIVEKIT_SERVER_BIN, ROOT } from '../ts/config.js';
import { listKitNamespaces } from '../ts/stack/netns.js';

const canRun = process.getuid?.() === 0 && existsSync(LIVEKIT_SERVER_BIN);
const FIXTURE = join(ROOT, 'test/fixtures/stack-child.ts');

interface Started {
  ready: true; ns: string; nsAddr: string; hostVeth: string; reaperPid: number;
  livekitPid: number; callerPid: number; port: number; pids: number[];
}

const dirs: string[] = [];
const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function startFixture(tag: string): Promise<{ proc: ChildProcess; info: Started; exited: Promise<[number | null, NodeJS.Signals | null]> }> {
  const dir = mkdtempSync(join(tmpdir(), `closekit-td-${tag}-`));
  dirs.push(dir);
  const proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE, `${tag}${process.pid.toString(36)}`, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let stderr = '';
  proc.stderr!.on('data', (b) => { stderr += String(b); });
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => proc.once('exit', (c, s) => r([c, s])));
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', (line) => resolve({ proc, info: JSON.parse(line) as Started, exited }));
    void exited.then(([c]) => reject(new Error(`fixture exited ${c} before ready:\n${stderr}`)));
  });
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** What is left of a run, looked up without dialing its (possibly gone) address. */
function leftovers(info: Started) {
  const ss = execFileSync('ss', ['-Hltn', `src ${info.nsAddr}:${info.port}`], { encoding: 'utf8' }).trim();
  return {
    namespace: listKitNamespaces().includes(info.ns),
    veth: existsSync(`/sys/class/net/${info.hostVeth}`),
    pids: info.pids.filter(alive),
    reaper: alive(info.reaperPid),
    listenerInRootNs: ss !== '',
  };
}
const NOTHING = { namespace: false, veth: false, pids: [], reaper: false, listenerInRootNs: false };

/** Polls `f` until it equals `want` or `ms` passes; returns the last value (the assertion is on the value, not the time). */
async function settle<T>(f: () => T, want: T, ms: number): Promise<T> {
  const end = Date.now() + ms;
  let v = f();
  while (JSON.stringify(v) !== JSON.stringify(want) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    v = f();
  }
  return v;
}

describe.skipIf(!canRun)('teardown', () => {
  it('SIGKILL of the orchestrator: the reaper removes every process, the namespace and the veth', async () => {
    const { proc, info, exited } = await startFixture('k');
    expect(info.pids).toEqual(expect.arrayContaining([info.livekitPid, info.callerPid]));
    expect(leftovers(info)).toMatchObject({ namespace: true, veth: true, reaper: true });
    expect(execFileSync('ip', ['netns', 'exec', info.ns, 'ss', '-Hltn', `src ${info.nsAddr}:${info.port}`], { encoding: 'utf8' })).toContain(`${info.port}`);

    proc.kill('SIGKILL');
    expect((await exited)[1]).toBe('SIGKILL');
    expect(await settle(() => leftovers(info), NOTHING, 20_000)).toEqual(NOTHING);
  });

  it('SIGINT: tears down and exits 130 with nothing left', async () => {
    const { proc, info, exited } = await startFixture('i');
    expect(leftovers(info)).toMatchObject({ namespace: true, veth: true });

    proc.kill('SIGINT');
    expect((await exited)[0]).toBe(130);
    // Teardown finished before exit; only the reaper may need its 0.5 s tick to notice.
    expect(await settle(() => leftovers(info), NOTHING, 5_000)).toEqual(NOTHING);
  });
});
