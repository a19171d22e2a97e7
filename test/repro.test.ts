/**
 * make repro, agents-js half, over the real stack: livekit-server in the run's namespace,
 * the gateway, a real @livekit/agents worker, a real rtc-node caller that hangs up.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, VERSIONS } from '../ts/config.js';
import type { RuntimeInstall } from '../ts/contract/results.js';
import { RUNTIMES } from '../ts/matrix/runtimes.js';
import { runOne } from '../ts/run/index.js';
import { loadScenarios } from '../ts/scenario/load.js';
import { readEvents } from '../ts/observe/events.js';

const scenarios = Object.fromEntries(loadScenarios().map((s) => [s.name, s]));
let install: RuntimeInstall;
const runDir = mkdtempSync(join(tmpdir(), 'ck-repro-'));

function kitNamespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith('ck-'));
}

beforeAll(async () => {
  // The same install and worker start `kit repro` uses: the runtime table's js entry.
  install = await RUNTIMES.js.install(VERSIONS.agentsJs);
}, 600_000);

describe(`agents-js ${VERSIONS.agentsJs} unpatched`, () => {
  it('control: the forced close completes and every provider socket of the job closes', async () => {
    const r = await runOne({ scenario: scenarios['hangup-clean']!, install, worker: RUNTIMES.js, runDir });
    expect(r.verdict, r.reason).toBe('closed');
    expect(r.closeEvent).toBe('session.closed');
    expect(r.openSocketsAfterClose).toBe(0);
    const stt = r.sockets.filter((s) => s.kind === 'stt');
    expect(stt.length).toBeGreaterThan(0);
    expect(stt.every((s) => s.closedBy === 'client')).toBe(true);
    const evs = r.timeline.map((e) => e.ev);
    expect(evs).toEqual(expect.arrayContaining(['close.requested', 'drain.start', 'drain.end', 'activity.close.start', 'activity.close.end', 'session.closed']));
  });

  it('tool wedge: the forced close hangs with the STT socket open, the same verdict 3 times', async () => {
    const verdicts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await runOne({ scenario: scenarios['hangup-tool-wedge']!, install, worker: RUNTIMES.js, runDir: join(runDir, `rep${i}`) });
      verdicts.push(r.verdict);
      expect(r.verdict, r.reason).toBe('hang');
      expect(r.timeline.some((e) => e.ev === 'wedge.entered' && e.t < 0)).toBe(true);
      expect(r.openSocketsAfterClose).toBeGreaterThanOrEqual(1);
      // Open at the verdict: an STT socket the client never closed.
      expect(r.sockets.some((s) => s.kind === 'stt' && s.closedBy !== 'client')).toBe(true);
      expect(r.parkedAfter).toBe('toolExecutor.drain');
    }
    expect(new Set(verdicts)).toEqual(new Set(['hang']));
  });
});

/**
 * Starts `bin/kit.mjs repro` on the tool wedge with its own reports and raw-runs folders;
 * resolves once the worker is parked on the wedge, with the run's namespace.
 */
async function reproParkedOnWedge(): Promise<{ child: ReturnType<typeof spawn>; runs: string; ns: string[] }> {
  const reports = mkdtempSync(join(tmpdir(), 'ck-sig-reports-'));
  const runs = mkdtempSync(join(tmpdir(), 'ck-sig-runs-'));
  const before = new Set(kitNamespaces());
  const child = spawn(process.execPath, [join(ROOT, 'bin/kit.mjs'), 'repro', '-r', 'js', '-s', 'hangup-tool-wedge'], {
    cwd: ROOT,
    env: { ...process.env, CLOSEKIT_REPORTS_DIR: reports, CLOSEKIT_RUNS_DIR: runs },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const deadline = Date.now() + 90_000;
  let events: ReturnType<typeof readEvents> = [];
  while (Date.now() < deadline) {
    const dir = join(runs, readdirSync(runs).find((d) => d !== 'latest') ?? 'none', 'runs');
    if (existsSync(dir)) {
      const d = readdirSync(dir)[0];
      if (d) events = readEvents(join(dir, d, 'events.jsonl'));
    }
    if (events.some((e) => e.ev === 'wedge.entered')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(events.some((e) => e.ev === 'wedge.entered')).toBe(true);
  return { child, runs, ns: kitNamespaces().filter((n) => !before.has(n) && ours(n, runs)) };
}

/** Processes whose command line names `dir` (the stack's servers read their configs from the raw run folder). */
function procsOf(dir: string): string[] {
  return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(dir));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Other runs may share the machine: ours is the namespace whose processes carry our runs dir.
function ours(ns: string, dir: string): boolean {
  return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    });
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

describe('SIGKILL of the bin/kit.mjs wrapper mid-scenario', () => {
  it('the kit process notices, tears its stack down and exits; no process or namespace is left', async () => {
    const { child, runs, ns } = await reproParkedOnWedge();
    expect(ns.length).toBe(1);
    const kitPid = Number(execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
    expect(alive(kitPid)).toBe(true);
    // A wrapper killed with SIGKILL cannot forward anything: the kit must notice on its own.
    process.kill(child.pid!, 'SIGKILL');
    expect(await until(() => !alive(kitPid), 15_000)).toBe(true);
    expect(await until(() => procsOf(runs).length === 0, 15_000), procsOf(runs).join('\n')).toBe(true);
    expect(await until(() => !kitNamespaces().some((n) => ns.includes(n)), 5_000)).toBe(true);
  });
});

describe('Ctrl-C mid-scenario', () => {
  it('leaves no process, port or namespace behind', async () => {
    const { child, runs, ns: mid } = await reproParkedOnWedge();
    expect(mid.length).toBe(1);
    // What a terminal's Ctrl-C delivers to the kit (bin/kit.mjs forwards it to the CLI).
    process.kill(child.pid!, 'SIGINT');
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    expect(code).toBe(130);
    expect(await until(() => !kitNamespaces().some((n) => mid.includes(n)), 5_000)).toBe(true);
    expect(procsOf(runs)).toEqual([]);
  });
});
