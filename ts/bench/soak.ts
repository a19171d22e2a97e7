/**
 * `kit bench soak -n N [--seed S]`: N real runs (`bin/kit.mjs repro`, one scenario each),
 * each interrupted at a random point by SIGINT (what Ctrl-C sends) or SIGKILL (of the
 * bin/kit.mjs wrapper: nothing can forward it, the kit must notice; or of the kit process
 * itself: only the namespace reaper is left), then checks that nothing survived: no
 * process naming the run's folders, no namespace the run made, no listener on the run
 * network's addresses, no closekit container, no `.kit` temp dir. Seeded (printed), so a
 * failing soak is replayed with the same seed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KIT_DIR, ROOT } from '../config.js';
import { listKitNamespaces } from '../stack/netns.js';

export interface SoakOptions {
  n: number;
  seed: number;
  /** Scenarios to draw from (default: the WebRTC and SIP wedges and controls). */
  scenarios?: string[];
  log?: (line: string) => void;
}

export interface SoakLeftover {
  run: number;
  kind: 'process' | 'namespace' | 'listener' | 'container' | 'tempdir';
  what: string;
}

export interface SoakReport {
  seed: number;
  runs: number;
  /** How many of each interruption were sent. */
  signals: Record<'SIGINT' | 'SIGKILL-wrapper' | 'SIGKILL-kit', number>;
  leftovers: SoakLeftover[];
  wallMs: number;
}

/** mulberry32: a small seeded PRNG, so a soak is replayed exactly from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function psArgs(): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

function listeners(): string[] {
  try {
    return execFileSync('ss', ['-Htlnu'], { encoding: 'utf8' }).split('\n').filter((l) => /198\.18\.\d+\.\d+/.test(l));
  } catch {
    return [];
  }
}

function containers(): string[] {
  for (const bin of ['podman', 'docker']) {
    try {
      return execFileSync(bin, ['ps', '-a', '--filter', 'label=closekit', '--format', '{{.Names}}'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean);
    } catch {
      // engine not there or not usable: nothing of ours can be running in it
    }
  }
  return [];
}

/** `.tmp-*` / `.old-*` dirs the installers leave only when interrupted half-way. */
function kitTempDirs(): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    if (depth > 3 || !existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      if (/^\.(tmp|old)-|\.tmp-\d+$/.test(e.name)) out.push(join(d, e.name));
      else if (e.name !== 'node_modules' && e.name !== 'lib' && e.name !== 'runs') walk(join(d, e.name), depth + 1);
    }
  };
  walk(join(KIT_DIR, 'runtimes'), 0);
  walk(join(KIT_DIR, 'tools'), 0);
  return out;
}

/**
 * Runs the soak. Never throws for a leftover (that is the figure); throws when the kit
 * cannot be started at all.
 * @returns counts and every leftover found (empty = clean).
 */
export async function soak(o: SoakOptions): Promise<SoakReport> {
  const rnd = prng(o.seed);
  const log = o.log ?? (() => {});
  const scenarios = o.scenarios ?? ['hangup-tool-wedge', 'hangup-on-exit-wedge', 'hangup-clean', 'sip-inbound-hangup-tool-wedge'];
  const signals: SoakReport['signals'] = { SIGINT: 0, 'SIGKILL-wrapper': 0, 'SIGKILL-kit': 0 };
  const leftovers: SoakLeftover[] = [];
  const t0 = Date.now();
  const tempBefore = new Set(kitTempDirs());
  for (let i = 1; i <= o.n; i++) {
    const scenario = scenarios[Math.floor(rnd() * scenarios.length)]!;
    const runtime = rnd() < 0.5 ? 'js' : 'py';
    const afterMs = Math.round(500 + rnd() * 24_000);
    const pick = rnd();
    const how: keyof SoakReport['signals'] = pick < 0.4 ? 'SIGINT' : pick < 0.7 ? 'SIGKILL-wrapper' : 'SIGKILL-kit';
    const dirs = { reports: mkdtempSync(join(tmpdir(), 'ck-soak-r-')), runs: mkdtempSync(join(tmpdir(), 'ck-soak-w-')) };
    const nsBefore = new Set(listKitNamespaces());
    const child = spawn(process.execPath, [join(ROOT, 'bin/kit.mjs'), 'repro', '-r', runtime, '-s', scenario], {
      cwd: ROOT,
      env: { ...process.env, CLOSEKIT_REPORTS_DIR: dirs.reports, CLOSEKIT_RUNS_DIR: dirs.runs },
      stdio: 'ignore',
    });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    await Promise.race([sleep(afterMs), exited]);
    // Namespaces made by this run: new since it started.
    const mine = listKitNamespaces().filter((n) => !nsBefore.has(n));
    signals[how]++;
    if (child.exitCode === null) {
      if (how === 'SIGINT') child.kill('SIGINT');
      else if (how === 'SIGKILL-wrapper') child.kill('SIGKILL');
      else {
        const kit = psArgs().find((l) => l.includes('ts/cli.ts repro') && l.includes(scenario) && Number(l.trim().split(/\s+/)[0]) !== child.pid);
        if (kit) process.kill(Number(kit.trim().split(/\s+/)[0]), 'SIGKILL');
        else child.kill('SIGKILL');
      }
    }
    await Promise.race([exited, sleep(20_000)]);
    // Settle: teardown and the reaper finish within seconds; check after a bounded wait.
    const deadline = Date.now() + 15_000;
    let procs: string[] = [];
    let ns: string[] = [];
    while (Date.now() < deadline) {
      procs = psArgs().filter((l) => l.includes(dirs.runs) || l.includes(dirs.reports));
      ns = listKitNamespaces().filter((n) => mine.includes(n));
      if (!procs.length && !ns.length) break;
      await sleep(250);
    }
    for (const p of procs) leftovers.push({ run: i, kind: 'process', what: p.slice(0, 200) });
    for (const n of ns) leftovers.push({ run: i, kind: 'namespace', what: n });
    for (const l of listeners()) leftovers.push({ run: i, kind: 'listener', what: l.trim() });
    for (const c of containers()) leftovers.push({ run: i, kind: 'container', what: c });
    log(`soak ${i}/${o.n}: ${runtime} ${scenario}, ${how} after ${afterMs} ms: ${procs.length + ns.length ? `LEFT ${procs.length} process(es), ${ns.length} namespace(s)` : 'clean'}`);
    rmSync(dirs.reports, { recursive: true, force: true });
    rmSync(dirs.runs, { recursive: true, force: true });
  }
  for (const d of kitTempDirs().filter((d) => !tempBefore.has(d))) leftovers.push({ run: 0, kind: 'tempdir', what: d });
  return { seed: o.seed, runs: o.n, signals, leftovers, wallMs: Date.now() - t0 };
}
