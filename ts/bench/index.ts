/**
 * `kit bench <stack|repro|verify|bisect|soak>`: figures, printed, never asserted (timed tests flake;
 * benchmarks inform).
 */
import type { Runtime } from '../contract/results.js';
import { KitError } from '../errors.js';

function stats(xs: number[]): { p50: number; p95: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  return { p50: q(0.5), p95: q(0.95), min: s[0]!, max: s[s.length - 1]! };
}

/** Run the named benchmark `repeat` times where that applies, print figures. */
export async function bench(what: string, o: { repeat: number; scenario?: string[]; runtime?: Runtime[]; n?: number; seed?: number; jobs?: number; from?: string; to?: string }): Promise<void> {
  if (what === 'soak') {
    const { soak } = await import('./soak.js');
    const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
    const n = o.n ?? 10;
    console.log(`soak: ${n} run(s), seed ${seed} (replay with --seed ${seed})`);
    const r = await soak({ n, seed, scenarios: o.scenario, log: (l) => console.error(l) });
    console.log(`signals: ${Object.entries(r.signals).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    const by = (k: string) => r.leftovers.filter((x) => x.kind === k).length;
    console.log(`leftovers: ${r.leftovers.length} (processes ${by('process')}, namespaces ${by('namespace')}, listeners ${by('listener')}, containers ${by('container')}, .kit temp dirs ${by('tempdir')})`);
    for (const l of r.leftovers) console.log(`  run ${l.run}: ${l.kind} ${l.what}`);
    console.log(`wall time: ${(r.wallMs / 1000).toFixed(0)} s`);
    if (r.leftovers.length) process.exitCode = 1;
    return;
  }
  if (what === 'stack') {
    const { benchStack } = await import('../stack/bench.js');
    await benchStack();
    return;
  }
  if (what === 'repro' || what === 'verify') {
    const { runMatrix } = await import('../matrix/index.js');
    const { readResults } = await import('../report/results.js');
    const t0 = Date.now();
    const variants = what === 'repro' ? (['unpatched'] as const) : (['unpatched', 'patched'] as const);
    const per = new Map<string, { verdicts: string[]; wall: number[]; close: number[]; phases: Array<Record<string, number>> }>();
    const walls: number[] = [];
    for (let i = 0; i < o.repeat; i++) {
      const w0 = Date.now();
      await runMatrix({ scenario: o.scenario, runtime: o.runtime, variants: [...variants], command: `bench ${what}`, quiet: true, jobs: o.jobs, upstreamTests: false });
      walls.push(Date.now() - w0);
      for (const r of readResults('latest').runs) {
        const key = `${r.scenario} ${r.runtime} ${r.variant}`;
        const e = per.get(key) ?? { verdicts: [], wall: [], close: [], phases: [] };
        e.verdicts.push(r.verdict);
        const phases = r.phasesMs ?? {};
        e.wall.push(Object.values(phases).reduce((n, x) => n + x, 0));
        e.close.push(r.hangupToVerdictMs ?? 0);
        e.phases.push(phases);
        per.set(key, e);
      }
    }
    console.log(`kit bench ${what}: ${o.repeat} repeat(s), -j ${o.jobs ?? 1}; per run: wall (p50/p95), the scenario's own hangup -> verdict, overhead share, verdicts`);
    let allSame = 0;
    for (const [k, e] of [...per].sort()) {
      const w = stats(e.wall);
      const c = stats(e.close);
      const overhead = e.wall.reduce((n, x) => n + x, 0) ? 1 - e.close.reduce((n, x) => n + x, 0) / e.wall.reduce((n, x) => n + x, 0) : 0;
      const counts = Object.entries(e.verdicts.reduce<Record<string, number>>((m, v) => ({ ...m, [v]: (m[v] ?? 0) + 1 }), {}));
      const same = counts.length === 1;
      if (same) allSame++;
      console.log(`  ${k.padEnd(48)} wall p50 ${(w.p50 / 1000).toFixed(1).padStart(5)} s  p95 ${(w.p95 / 1000).toFixed(1).padStart(5)} s  close p50 ${(c.p50 / 1000).toFixed(1).padStart(5)} s  overhead ${(overhead * 100).toFixed(0).padStart(3)}%  ${counts.map(([v, n]) => `${n}/${e.verdicts.length} ${v}`).join(', ')}`);
    }
    // Mean ms per phase over every run: what sets each second of a run (docs/speed.md).
    const phaseNames = ['stack', 'worker', 'caller', 'cue', 'close', 'parked', 'orphans', 'teardown'];
    const all = [...per.values()].flatMap((e) => e.phases);
    if (all.length) console.log(`  mean per phase (ms): ${phaseNames.map((p) => `${p} ${Math.round(all.reduce((n, x) => n + (x[p] ?? 0), 0) / all.length)}`).join(', ')}`);
    console.log(`determinism: ${allSame}/${per.size} run keys gave one verdict in every repeat`);
    console.log(`matrix wall time: p50 ${(stats(walls).p50 / 1000).toFixed(1)} s over ${walls.length} repeat(s); total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return;
  }
  if (what === 'bisect') {
    const { bisect } = await import('../matrix/bisect.js');
    const rt = o.runtime?.[0] ?? 'js';
    const scenario = o.scenario?.[0] ?? 'hangup-tool-wedge';
    const t0 = Date.now();
    const { result } = await bisect({ runtime: rt, scenario, from: o.from, to: o.to, log: () => {} });
    const ms = result.steps.map((s) => s.ms);
    const st = stats(ms.length ? ms : [0]);
    console.log(`kit bench bisect -r ${rt} -s ${scenario}: ${result.steps.length} runs over ${result.candidates} releases, wall ${((Date.now() - t0) / 1000).toFixed(1)} s, per step p50 ${(st.p50 / 1000).toFixed(1)} s p95 ${(st.p95 / 1000).toFixed(1)} s`);
    console.log(`  ${result.summary}`);
    return;
  }
  throw new KitError(`unknown benchmark "${what}"`, { fix: 'use `kit bench stack`, `kit bench repro`, `kit bench verify`, `kit bench bisect` or `kit bench soak -n N`' });
}
