/**
 * `kit bench <stack|repro|verify|soak>`: figures, printed, never asserted (timed tests flake;
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
export async function bench(what: string, o: { repeat: number; scenario?: string[]; runtime?: Runtime[]; n?: number; seed?: number }): Promise<void> {
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
    const per = new Map<string, number[]>();
    for (let i = 0; i < o.repeat; i++) {
      await runMatrix({ scenario: o.scenario, runtime: o.runtime, variants: [...variants], command: `bench ${what}`, quiet: true });
      for (const r of readResults('latest').runs) {
        const key = `${r.scenario} ${r.runtime} ${r.variant} ${r.verdict}`;
        const v = what === 'repro' ? r.hangupToVerdictMs : r.closeMs ?? r.hangupToVerdictMs;
        if (v !== null) per.set(key, [...(per.get(key) ?? []), v]);
      }
    }
    console.log(`${what === 'repro' ? 'hangup → verdict' : 'hangup → close (or verdict)'} in ms over ${o.repeat} run(s):`);
    for (const [k, xs] of [...per].sort()) {
      const s = stats(xs);
      console.log(`  ${k.padEnd(60)} p50 ${s.p50.toFixed(0).padStart(6)}  p95 ${s.p95.toFixed(0).padStart(6)}  min ${s.min.toFixed(0)}  max ${s.max.toFixed(0)}`);
    }
    if (what === 'verify') {
      const clean = (variant: string) => [...per].filter(([k]) => k.includes('clean') && k.includes(` ${variant} `)).flatMap(([, v]) => v);
      const u = clean('unpatched');
      const p = clean('patched');
      if (u.length && p.length) console.log(`  clean close patched/unpatched p50 ratio: ${(stats(p).p50 / stats(u).p50).toFixed(3)} (target <= 1.05)`);
    }
    console.log(`total wall time: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return;
  }
  throw new KitError(`unknown benchmark "${what}"`, { fix: 'use `kit bench stack`, `kit bench repro`, `kit bench verify` or `kit bench soak -n N`' });
}
