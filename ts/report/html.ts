/**
 * report.html: one self-contained page (inline CSS, inline SVG, no script, no external
 * asset) that shows the whole run at a glance: the matrix, then per scenario ONE SVG with
 * the four runs side by side (JS left, Python right; unpatched above, patched below) on a
 * shared time axis from the hangup to the verdict, so "hang" and "closed" compare by eye.
 *
 * Each panel draws: close markers (close.requested, interrupt.done, session.closed,
 * parked), the activity lock (drain.start → drain.end, or to the verdict when never
 * released), the close spans (drain, activity.close, activity.step.*), every provider socket
 * alive after the hangup (bar from open to close, coloured by who closed it), and the 2007
 * story (stt.error / stt.reconnect). Every text goes through the redactor, then HTML escape.
 */
import { RUNTIME_IDS, RUNTIME_NAMES, VARIANTS, type RunResult } from '../contract/results.js';
import type { ResultsFile } from './results.js';
import type { Redactor } from './redact.js';
import { closeSpans, lockSpans, type Span, type TimelineEntry } from './model.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const COLORS = {
  hang: '#c62828',
  closed: '#2e7d32',
  error: '#ef6c00',
  unsupported: '#757575',
  lock: '#f9a825',
  drain: '#1565c0',
  activityClose: '#00838f',
  step: '#6a1b9a',
  sockClient: '#2e7d32',
  sockGateway: '#c62828',
  sockOpen: '#757575',
  e2007: '#c62828',
  reconnect: '#ef6c00',
  grid: '#e0e0e0',
};

const PANEL_W = 600;
const LABEL_W = 160;
const PLOT_W = PANEL_W - LABEL_W - 16;
const ROW_H = 18;
const HEAD_H = 54;
const AXIS_H = 22;
const GAP_X = 24;
const GAP_Y = 22;

type Scale = ((t: number) => number) & { domain: [number, number] };

interface Lane {
  label: string;
  draw: (x: Scale, y: number) => string;
}

/** ms → a tick label: `0`, `500 ms`, `2 s`, `-1 s`. */
function tickLabel(ms: number): string {
  if (ms === 0) return '0';
  return Math.abs(ms) >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

function niceStep(range: number): number {
  const raw = range / 8;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * p) return m * p;
  return 10 * p;
}

/** The end of a run's picture: the verdict, or the last event worth drawing (2007 story, socket close). */
function runEnd(r: RunResult): number {
  const ts = [r.hangupToVerdictMs ?? 0, r.closeMs ?? 0];
  for (const e of r.timeline) if (e.t >= 0 && (e.runtime === 'gateway' || e.ev.startsWith('stt.') || e.ev === 'session.closed' || e.ev === 'parked')) ts.push(e.t);
  return Math.max(...ts);
}

function title(s: string): string {
  return `<title>${esc(s)}</title>`;
}

function bar(x: (t: number) => number, y: number, s: { start: number; end: number | null; color: string; tip: string; openEnd: number; hatch?: boolean; label?: string; openLabel?: string }): string {
  const x0 = x(s.start);
  const x1 = x(s.end ?? s.openEnd);
  const w = Math.max(2, x1 - x0);
  const fill = s.end === null || s.hatch ? `url(#hatch-${s.color.slice(1)})` : s.color;
  const parts = [`<rect x="${x0.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW_H - 6}" rx="2" fill="${fill}" stroke="${s.color}" stroke-width="1">${title(s.tip)}</rect>`];
  if (s.end === null) parts.push(`<text x="${(x1 - 3).toFixed(1)}" y="${y + ROW_H / 2 + 4}" text-anchor="end" class="open">${esc(s.openLabel ?? 'never ended')} ▸</text>`);
  else if (s.label && w > 40) parts.push(`<text x="${(x0 + 3).toFixed(1)}" y="${y + ROW_H / 2 + 4}" class="inbar">${esc(s.label)}</text>`);
  return parts.join('');
}

function marker(x: number, y: number, shape: 'tri' | 'dot' | 'dia' | 'flag' | 'sq' | 'tick', color: string, tip: string): string {
  const cy = y + ROW_H / 2;
  const t = title(tip);
  switch (shape) {
    case 'tri':
      return `<path d="M${x - 5},${cy - 5} L${x + 5},${cy - 5} L${x},${cy + 4} Z" fill="${color}">${t}</path>`;
    case 'dot':
      return `<circle cx="${x}" cy="${cy}" r="5" fill="${color}">${t}</circle>`;
    case 'dia':
      return `<path d="M${x},${cy - 6} L${x + 5},${cy} L${x},${cy + 6} L${x - 5},${cy} Z" fill="${color}">${t}</path>`;
    case 'flag':
      return `<g>${t}<line x1="${x}" y1="${cy + 6}" x2="${x}" y2="${cy - 7}" stroke="${color}" stroke-width="1.5"/><path d="M${x},${cy - 7} L${x + 8},${cy - 4} L${x},${cy - 1} Z" fill="${color}"/></g>`;
    case 'sq':
      return `<rect x="${x - 4}" y="${cy - 4}" width="8" height="8" fill="${color}">${t}</rect>`;
    case 'tick':
      return `<line x1="${x}" y1="${cy - 6}" x2="${x}" y2="${cy + 6}" stroke="${color}" stroke-width="2">${t}</line>`;
  }
}

const detail = (e: TimelineEntry, red: Redactor) =>
  red(
    `${e.t.toFixed(1)} ms  ${e.runtime ?? ''} ${e.ev}${e.data ? ' ' + JSON.stringify(Object.fromEntries(Object.entries(e.data).filter(([k]) => !['agentsDir', 'agentsRoot'].includes(k)))) : ''}`,
  );

/**
 * A span as it stood at the verdict: one that ended only after it (the kit's teardown
 * cancelled it) was still open when the verdict was taken, so it is drawn as open.
 */
function atVerdict(s: Span, verdictAt: number): Span {
  return s.end !== null && s.end > verdictAt ? { ...s, end: null } : s;
}

/** Label of a span that never ended: on a hang it is where the close waits; on a closed run the fix abandoned it. */
const openLabel = (r: RunResult) => (r.verdict === 'closed' ? 'abandoned' : 'never ended');

/** Lane label of a close step: `activity.step.*` names without the `activity.` prefix (the tooltip keeps the full name). */
const stepLabel = (n: string) => (n === 'activity.close' ? n : n.replace(/^activity\./, ''));

/** The lanes of one run's panel, top to bottom. */
function lanes(r: RunResult, red: Redactor, end: number): Lane[] {
  const out: Lane[] = [];
  const tl = r.timeline;
  const verdictAt = r.hangupToVerdictMs ?? end;
  out.push({
    label: 'close',
    draw: (x, y) =>
      tl
        .filter((e) => e.t >= 0)
        .map((e) => {
          const tip = detail(e, red);
          if (e.ev === 'close.requested') return marker(x(e.t), y, 'tri', '#212121', tip);
          if (e.ev === 'interrupt.done') return marker(x(e.t), y, 'tick', '#616161', tip);
          if (e.ev === 'session.closed') return marker(x(e.t), y, 'dot', COLORS.closed, tip);
          if (e.ev === 'parked') return marker(x(e.t), y, 'flag', COLORS.hang, tip);
          if (e.ev === 'job.exit') return marker(x(e.t), y, 'sq', '#616161', tip);
          if (e.ev === 'wedge.entered') return marker(x(e.t), y, 'dia', COLORS.step, tip);
          return '';
        })
        .join(''),
  });
  const locks = lockSpans(tl).filter((s) => s.end === null || s.end >= 0).map((s) => atVerdict(s, verdictAt));
  out.push({
    label: 'activity lock held',
    draw: (x, y) =>
      locks.length
        ? locks
            .map((s) =>
              bar(x, y, {
                ...s,
                start: Math.max(s.start, 0),
                color: s.end === null ? (r.verdict === 'closed' ? COLORS.sockOpen : COLORS.hang) : COLORS.lock,
                openEnd: verdictAt,
                openLabel: r.verdict === 'closed' ? 'abandoned' : 'never released',
                tip: s.end === null ? `activity lock held from ${s.start.toFixed(0)} ms, not released by the verdict at ${verdictAt} ms` : `activity lock held ${s.start.toFixed(0)} → ${s.end.toFixed(0)} ms (drain)`,
                label: s.end === null ? undefined : `${Math.round(s.end - s.start)} ms`,
              }),
            )
            .join('')
        : `<text x="${x(0) + 4}" y="${y + ROW_H / 2 + 4}" class="muted">no drain reported</text>`,
  });
  const spans = closeSpans(tl).filter((s) => s.end === null || s.end >= 0).map((s) => atVerdict(s, verdictAt));
  const names = [...new Set(spans.map((s) => s.name))];
  const order = (n: string) => (n === 'drain' ? 0 : n === 'activity.close' ? 2 : 1);
  for (const name of names.sort((a, b) => order(a) - order(b))) {
    const color = name === 'drain' ? COLORS.drain : name === 'activity.close' ? COLORS.activityClose : COLORS.step;
    const mine = spans.filter((s) => s.name === name);
    out.push({
      label: stepLabel(name),
      draw: (x, y) =>
        mine
          .map((s: Span) =>
            bar(x, y, {
              ...s,
              start: Math.max(s.start, 0),
              color: s.end === null && r.verdict === 'closed' ? COLORS.sockOpen : color,
              openEnd: verdictAt,
              openLabel: openLabel(r),
              tip: `${name}: ${s.start.toFixed(0)} → ${s.end === null ? 'not ended by the verdict' : s.end.toFixed(0) + ' ms'}${s.error ? ' (' + s.error + ')' : ''}`,
              label: s.end === null ? undefined : `${Math.round(s.end - s.start)} ms`,
            }),
          )
          .join(''),
    });
  }
  // Provider sockets alive at or after the hangup (the LLM's short HTTP requests before it are noise).
  for (const s of r.sockets.filter((s) => s.closedAt === null || s.closedAt >= 0)) {
    const color = s.closedAt === null ? COLORS.sockOpen : s.closedBy === 'client' ? COLORS.sockClient : COLORS.sockGateway;
    const who = s.closedAt === null ? 'still open at the end of the run' : `closed by ${s.closedBy ?? '?'} (code ${s.closeCode ?? '-'}) at ${s.closedAt} ms`;
    out.push({
      label: `${s.kind} socket ${s.id}`,
      draw: (x, y) =>
        bar(x, y, {
          start: Math.max(s.openedAt, x.domain[0]!),
          end: s.closedAt,
          color,
          hatch: false,
          openEnd: end,
          openLabel: 'still open',
          tip: red(`${s.kind} socket ${s.id}: opened ${s.openedAt} ms, ${who}${s.errorsSent.length ? `, errors sent: ${s.errorsSent.join(',')}` : ''}`),
          label: s.closedAt === null ? undefined : `by ${s.closedBy ?? '?'}`,
        }),
    });
  }
  const stt = tl.filter((e) => e.t >= 0 && (e.ev === 'stt.error' || e.ev === 'stt.reconnect'));
  out.push({
    label: 'STT 2007 / errors',
    draw: (x, y) =>
      stt.length
        ? stt
            .map((e) =>
              e.ev === 'stt.reconnect'
                ? marker(x(e.t), y, 'tri', COLORS.reconnect, detail(e, red))
                : marker(x(e.t), y, 'dia', e.data?.code === 2007 ? COLORS.e2007 : '#9e9e9e', detail(e, red)),
            )
            .join('') + stt.filter((e) => e.data?.code === 2007).map((e) => `<text x="${x(e.t) + 7}" y="${y + ROW_H / 2 + 4}" class="code">2007</text>`).join('')
        : `<text x="${x(0) + 4}" y="${y + ROW_H / 2 + 4}" class="muted">none</text>`,
  });
  return out;
}

function panel(r: RunResult | undefined, heading: string, ox: number, oy: number, height: number, domain: [number, number], red: Redactor): string {
  const x = Object.assign((t: number) => ox + LABEL_W + ((Math.min(Math.max(t, domain[0]), domain[1]) - domain[0]) / (domain[1] - domain[0])) * PLOT_W, { domain }) as Scale;
  const parts: string[] = [];
  parts.push(`<rect x="${ox}" y="${oy}" width="${PANEL_W}" height="${height}" fill="#fff" stroke="#bdbdbd" rx="4"/>`);
  if (!r) {
    parts.push(`<text x="${ox + 12}" y="${oy + 22}" class="ph">${esc(heading)}</text><text x="${ox + 12}" y="${oy + 44}" class="muted">not run</text>`);
    return parts.join('');
  }
  const vc = COLORS[r.verdict];
  const where = r.verdict === 'hang' ? ` · parked in ${r.parked?.open.at(-1) ?? r.parkedAfter ?? '?'}` : r.closeMs !== null ? ` · closed in ${Math.round(r.closeMs)} ms` : '';
  parts.push(`<text x="${ox + 12}" y="${oy + 18}" class="ph">${esc(red(heading))}</text>`);
  parts.push(
    `<text x="${ox + 12}" y="${oy + 34}"><tspan class="verdict" fill="${vc}">${esc(r.verdict.toUpperCase())}</tspan><tspan class="muted">${esc(red(where))} · ${r.openSocketsAfterClose} socket(s) open after close${r.matched ? '' : ' · UNEXPECTED (expected ' + r.expected + ')'}</tspan></text>`,
  );
  const ls = lanes(r, red, domain[1]);
  const top = oy + HEAD_H;
  const plotBottom = top + ls.length * ROW_H;
  // Grid and axis.
  const step = niceStep(domain[1] - domain[0]);
  for (let t = Math.ceil(domain[0] / step) * step; t <= domain[1]; t += step) {
    const xx = x(t);
    parts.push(`<line x1="${xx.toFixed(1)}" y1="${top}" x2="${xx.toFixed(1)}" y2="${plotBottom}" stroke="${COLORS.grid}" stroke-width="1"/>`);
    parts.push(`<text x="${xx.toFixed(1)}" y="${plotBottom + 14}" text-anchor="middle" class="tick">${tickLabel(t)}</text>`);
  }
  ls.forEach((l, i) => {
    const y = top + i * ROW_H;
    if (i % 2 === 0) parts.push(`<rect x="${ox + 1}" y="${y}" width="${PANEL_W - 2}" height="${ROW_H}" fill="#fafafa"/>`);
    parts.push(`<text x="${ox + LABEL_W - 6}" y="${y + ROW_H / 2 + 4}" text-anchor="end" class="lane">${esc(red(l.label.length > 25 ? l.label.slice(0, 24) + '…' : l.label))}${title(red(l.label))}</text>`);
  });
  // Hangup and verdict lines under the marks.
  parts.push(`<line x1="${x(0)}" y1="${top - 4}" x2="${x(0)}" y2="${plotBottom}" stroke="#212121" stroke-width="1.5"/><text x="${x(0) + 3}" y="${top - 5}" class="tick">hangup</text>`);
  if (r.hangupToVerdictMs !== null) {
    const vx = x(r.hangupToVerdictMs);
    parts.push(`<line x1="${vx}" y1="${top - 4}" x2="${vx}" y2="${plotBottom}" stroke="${vc}" stroke-width="1.5" stroke-dasharray="4 3"/><text x="${vx - 3}" y="${top - 5}" text-anchor="end" class="tick" fill="${vc}">verdict</text>`);
  }
  ls.forEach((l, i) => parts.push(l.draw(x, top + i * ROW_H)));
  return parts.join('');
}

function defs(): string {
  const colors = new Set(Object.values(COLORS));
  return `<defs>${[...colors]
    .map(
      (c) =>
        `<pattern id="hatch-${c.slice(1)}" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="${c}" fill-opacity="0.25"/><line x1="0" y1="0" x2="0" y2="6" stroke="${c}" stroke-width="3"/></pattern>`,
    )
    .join('')}</defs>`;
}

/** One scenario's SVG: 2×2 panels (JS | Python) × (unpatched / patched), shared time axis. */
export function scenarioSvg(scenario: string, runs: RunResult[], red: Redactor): string {
  const get = (rt: 'js' | 'py', v: 'unpatched' | 'patched') => runs.find((r) => r.scenario === scenario && r.runtime === rt && r.variant === v);
  const variants = (['unpatched', 'patched'] as const).filter((v) => runs.some((r) => r.scenario === scenario && r.variant === v));
  const runtimes = RUNTIME_IDS.filter((rt) => runs.some((r) => r.scenario === scenario && r.runtime === rt));
  const mine = runs.filter((r) => r.scenario === scenario);
  const end = Math.max(1000, ...mine.map(runEnd)) * 1.04;
  const domain: [number, number] = [-Math.round(end * 0.04), Math.round(end)];
  const heights = variants.map((v) => Math.max(...runtimes.map((rt) => {
    const r = get(rt, v);
    return r ? lanes(r, red, end).length : 2;
  })) * ROW_H + HEAD_H + AXIS_H);
  const W = runtimes.length * PANEL_W + (runtimes.length - 1) * GAP_X;
  const H = heights.reduce((a, b) => a + b, 0) + (variants.length - 1) * GAP_Y;
  const parts: string[] = [];
  let oy = 0;
  variants.forEach((v, vi) => {
    runtimes.forEach((rt, ri) => {
      const r = get(rt, v);
      const heading = `${RUNTIME_NAMES[rt].long} ${r?.runtimeVersion ?? ''} · ${v}`;
      parts.push(panel(r, heading, ri * (PANEL_W + GAP_X), oy, heights[vi]!, domain, red));
    });
    oy += heights[vi]! + GAP_Y;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" data-scenario="${esc(scenario)}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(`close timeline of ${scenario}`)}">${defs()}${parts.join('')}</svg>`;
}

function legend(): string {
  const item = (svg: string, text: string) => `<span class="li"><svg width="22" height="14" viewBox="0 0 22 14">${svg}</svg>${esc(text)}</span>`;
  const sw = (c: string, hatch = false) => `<rect x="1" y="2" width="20" height="10" rx="2" fill="${hatch ? 'none' : c}" stroke="${c}" ${hatch ? 'stroke-dasharray="3 2"' : ''}/>`;
  return `<div class="legend">${[
    item(`<path d="M6,2 L16,2 L11,11 Z" fill="#212121"/>`, 'close.requested'),
    item(`<line x1="11" y1="1" x2="11" y2="13" stroke="#616161" stroke-width="2"/>`, 'interrupt.done'),
    item(`<circle cx="11" cy="7" r="5" fill="${COLORS.closed}"/>`, 'session.closed'),
    item(`<line x1="8" y1="13" x2="8" y2="1" stroke="${COLORS.hang}"/><path d="M8,1 L16,4 L8,7 Z" fill="${COLORS.hang}"/>`, 'parked capture'),
    item(sw(COLORS.lock), 'activity lock held'),
    item(sw(COLORS.hang, true), 'never released / never ended (hang)'),
    item(sw(COLORS.sockOpen, true), 'abandoned by the fix / socket still open'),
    item(sw(COLORS.drain), 'drain'),
    item(sw(COLORS.activityClose), 'activity.close'),
    item(sw(COLORS.step), 'activity step'),
    item(sw(COLORS.sockClient), 'socket closed by the worker'),
    item(sw(COLORS.sockGateway), 'socket closed by the gateway'),
    item(`<path d="M11,1 L16,7 L11,13 L6,7 Z" fill="${COLORS.e2007}"/>`, 'STT error 2007'),
    item(`<path d="M6,2 L16,2 L11,11 Z" fill="${COLORS.reconnect}"/>`, 'STT reconnect'),
  ].join('')}</div>`;
}

function matrix(res: ResultsFile, red: Redactor): string {
  const scenarios = [...new Set(res.runs.map((r) => r.scenario))];
  const cols = RUNTIME_IDS.flatMap((rt) => VARIANTS.map((v) => [rt, v] as const)).filter(([rt, v]) => res.runs.some((r) => r.runtime === rt && r.variant === v));
  const head = cols.map(([rt, v]) => `<th>${RUNTIME_NAMES[rt].short}<br><span class="muted">${v}</span></th>`).join('');
  const rows = scenarios.map((s) => {
    const cells = cols.map(([rt, v]) => {
      const r = res.runs.find((x) => x.scenario === s && x.runtime === rt && x.variant === v);
      if (!r) return '<td class="muted">–</td>';
      const sub = [
        r.verdict === 'closed' && r.closeMs !== null ? `${Math.round(r.closeMs)} ms` : r.verdict === 'hang' ? `in ${r.parked?.open.at(-1) ?? r.parkedAfter ?? '?'}` : '',
        `${r.openSocketsAfterClose} open`,
        r.idleErrorsAfterHangup ? `2007×${r.idleErrorsAfterHangup}` : '',
        r.gatewayReconnects ? `${r.gatewayReconnects} reconnect(s)` : '',
      ].filter(Boolean);
      return `<td class="v-${r.verdict}${r.matched ? '' : ' unexpected'}" title="${esc(red(r.reason))}"><b>${r.verdict}</b>${r.matched ? '' : ' ≠ ' + esc(r.expected)}<br><span class="sub">${esc(red(sub.join(' · ')))}</span></td>`;
    });
    return `<tr><th class="sc"><a href="#sc-${esc(s)}">${esc(s)}</a></th>${cells.join('')}</tr>`;
  });
  return `<table class="matrix"><thead><tr><th>scenario</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#212121;margin:24px;background:#f5f5f5}
h1{font-size:20px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 6px} .muted{color:#757575}
.env{font:12px ui-monospace,Menlo,Consolas,monospace;color:#424242;margin:6px 0 16px}
table.matrix{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px #0002}
.matrix th,.matrix td{border:1px solid #e0e0e0;padding:6px 10px;text-align:left;vertical-align:top}
.matrix thead th{background:#eeeeee;font-weight:600}
.matrix th.sc{font-weight:500}
td.v-hang{background:#ffebee;color:#b71c1c} td.v-closed{background:#e8f5e9;color:#1b5e20} td.v-error{background:#fff3e0;color:#e65100} td.v-unsupported{background:#eeeeee;color:#424242}
td.unexpected{outline:3px solid #ff6f00;outline-offset:-3px}
.sub{font-size:12px;color:#424242}
.scenario{background:#fff;padding:12px 16px;margin:16px 0;box-shadow:0 1px 2px #0002;overflow-x:auto}
.scenario p{margin:2px 0 10px;color:#424242}
svg.timeline text{font:11px system-ui,sans-serif;fill:#424242}
svg.timeline text.ph{font-weight:600;font-size:12.5px;fill:#212121} svg.timeline text.lane{fill:#424242}
svg.timeline text.tick{font-size:10px;fill:#616161} svg.timeline text.inbar{font-size:10px;fill:#fff;font-weight:600}
svg.timeline text.open{font-size:10px;fill:#b71c1c;font-weight:600} svg.timeline text.code{font-size:10px;fill:#c62828;font-weight:700}
svg.timeline tspan.verdict{font-weight:700} svg.timeline tspan.muted{fill:#616161}
.legend{display:flex;flex-wrap:wrap;gap:6px 14px;font-size:12px;margin:8px 0}.li{display:inline-flex;align-items:center;gap:4px}
`;

/**
 * The whole page. Pure: no I/O; the caller writes it (index.ts redacts the result again).
 * `red` redacts every text taken from the results before it is escaped into the page.
 */
export function renderHtml(res: ResultsFile, red: Redactor): string {
  const scenarios = [...new Set(res.runs.map((r) => r.scenario))];
  const env = Object.entries(res.env)
    .filter(([, v]) => v)
    .map(([k, v]) => `${esc(k)}=${esc(red(String(v)))}`)
    .join(' · ');
  const sections = scenarios.map((s) => {
    const runs = res.runs.filter((r) => r.scenario === s);
    const summary = runs.map((r) => `${r.runtime} ${r.variant}: ${r.verdict}`).join(', ');
    return `<section class="scenario" id="sc-${esc(s)}"><h2>${esc(s)}</h2><p>${esc(red(summary))}. Time in ms after the hangup; hover a mark for the event.</p>${scenarioSvg(s, res.runs, red)}</section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>closekit ${esc(res.command)} ${esc(red(res.runId))}</title><style>${CSS}</style></head>
<body>
<h1>closekit: forced AgentSession close after hangup — ${esc(res.command)} ${esc(red(res.runId))}</h1>
<div class="muted">${esc(res.startedAt)} → ${esc(res.finishedAt)}</div>
<div class="env">${env}</div>
${matrix(res, red)}
${legend()}
${sections.join('\n')}
</body></html>
`;
}
