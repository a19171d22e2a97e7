/** The final table printed after a run: one row per scenario × runtime × variant. */
import type { RunResult } from '../contract/results.js';

/** Render runs as a fixed-width text table (no colour when not a TTY). */
export function renderTable(runs: RunResult[]): string {
  const head = ['scenario', 'runtime', 'version', 'variant', 'verdict', 'expected', 'close ms', 'req→close ms', 'open sockets', 'reconnects', 'parked in'];
  const rows = runs.map((r) => [
    r.scenario,
    r.runtime,
    r.runtimeVersion,
    r.variant,
    r.matched ? r.verdict : `${r.verdict} (!)`,
    r.expected,
    r.closeMs === null ? '-' : String(r.closeMs),
    r.closeRequestMs == null ? '-' : String(r.closeRequestMs),
    String(r.openSocketsAfterClose),
    String(r.gatewayReconnects),
    r.parkedAfter ?? '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
