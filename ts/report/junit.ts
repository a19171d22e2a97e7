/**
 * junit.xml: one <testcase> per run so CI dashboards show the matrix: classname = scenario,
 * name = "<runtime> <variant>", time = hangup → verdict (s). A run whose verdict did not
 * match its scenario's expectation is a <failure>; a run that errored (a component fell over
 * mid-run) is a <failure> too when "error" was not expected. <system-out> carries the reason
 * and the figures, redacted.
 */
import type { RunResult } from '../contract/results.js';
import type { ResultsFile } from './results.js';
import type { Redactor } from './redact.js';

/** XML text/attribute escape; drops characters XML 1.0 cannot carry. */
export function xmlEscape(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** CDATA cannot hold `]]>`; split it across sections. */
const cdata = (s: string) => `<![CDATA[${s.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;

function systemOut(r: RunResult): string {
  return [
    `verdict: ${r.verdict} (expected ${r.expected})`,
    `reason: ${r.reason}`,
    `runtime: ${r.runtime} ${r.runtimeVersion} (${r.variant}), caller ${r.caller}, network ${r.network}, worker ${r.worker ? (r.worker.mode === 'container' ? `container ${r.worker.image}` : r.worker.mode) : 'host'}`,
    `close: ${r.closeMs === null ? 'never' : `${r.closeMs} ms after hangup (${r.closeEvent})`}`,
    `sockets open after close: ${r.openSocketsAfterClose}`,
    `2007 idle closes: ${r.idleErrorsAfterHangup}; STT reconnects after hangup: ${r.gatewayReconnects}; STT errors after hangup: ${r.sttErrorsAfterHangup.length}`,
    ...(r.verdict === 'hang' ? [`parked in: ${r.parkedAfter ?? 'unknown'}`] : []),
  ].join('\n');
}

/** The JUnit XML for a results file. Pure; every text goes through `red`, then XML escaping. */
export function renderJunit(res: ResultsFile, red: Redactor): string {
  const skipped = res.runs.filter((r) => r.verdict === 'unsupported').length;
  const failures = res.runs.filter((r) => !r.matched && r.verdict !== 'unsupported').length;
  const total = res.runs.reduce((n, r) => n + (r.hangupToVerdictMs ?? 0), 0) / 1000;
  const cases = res.runs.map((r) => {
    const attrs = `classname="${xmlEscape(red(r.scenario))}" name="${xmlEscape(`${r.runtime} ${r.runtimeVersion} ${r.variant}`)}" time="${((r.hangupToVerdictMs ?? 0) / 1000).toFixed(3)}"`;
    const failure = r.verdict === 'unsupported'
      ? `\n      <skipped message="${xmlEscape(red(`unsupported: ${r.reason}`))}"/>`
      : r.matched
      ? ''
      : `\n      <failure message="${xmlEscape(red(`expected ${r.expected}, got ${r.verdict}: ${r.reason}`))}" type="verdict">${xmlEscape(red(r.reason))}</failure>`;
    return `    <testcase ${attrs}>${failure}\n      <system-out>${cdata(red(systemOut(r)))}</system-out>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="closekit" tests="${res.runs.length}" failures="${failures}" errors="0" time="${total.toFixed(3)}">`,
    `  <testsuite name="${xmlEscape(red(`closekit ${res.command} ${res.runId}`))}" tests="${res.runs.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${total.toFixed(3)}" timestamp="${xmlEscape(res.startedAt)}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
