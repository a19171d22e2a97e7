/**
 * Upstream's own gates, unpatched vs patched (docs/gates.md): agents-js tsc / eslint /
 * prettier / api-extractor (js.ts) and livekit-agents ruff / ruff format / mypy (py.ts).
 * A patch counts only when every gate is green on the patched tree: `gateProblems` names each
 * one that is not, and `kit verify` turns those into exit 1 (verdict/checks.ts exitCodeOf).
 */
import type { GateOutcome, GateRow } from '../contract/results.js';

export { jsGates } from './js.js';
export { pyGates } from './py.js';

/** The rules a patched tree broke: a gate not `pass` there. */
export function gateProblems(rows: GateRow[]): string[] {
  return rows
    .filter((r) => r.patched.status !== 'pass')
    .map((r) => `${r.runtime === 'js' ? 'agents-js' : 'livekit-agents'} gate ${r.gate} is ${r.patched.status === 'fail' ? 'red' : r.patched.status} on the patched tree: ${r.patched.summary}`);
}

const cell = (g: GateOutcome) => `${g.status === 'pass' ? 'pass' : g.status === 'fail' ? 'FAIL' : g.status}: ${g.summary}`;

/** The table `kit verify` prints: one line per gate, unpatched vs patched. */
export function renderGates(rows: GateRow[]): string {
  const lines = [`${'gate'.padEnd(40)}${'unpatched'.padEnd(45)}patched`];
  for (const r of rows) lines.push(`${`${r.runtime === 'js' ? 'agents-js' : 'livekit-agents'} ${r.gate}`.padEnd(40)}${cell(r.unpatched).slice(0, 43).padEnd(45)}${cell(r.patched)}`);
  return lines.join('\n');
}
