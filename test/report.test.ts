/**
 * writeReports on a fixture cut from a real verify run (test/fixtures/report/run/, redacted;
 * rebuilt by test/fixtures/report/build-fixture.ts): every file is written, the issue
 * matrices and hang sections come from the data, JUnit has one case per run, the patch
 * bundle checks out, and nothing planted in logs/timelines leaks past the redaction.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { PATCHES_DIR } from '../ts/config.js';
import { writeReports } from '../ts/report/index.js';
import { renderIssue } from '../ts/report/issue.js';
import { renderHtml } from '../ts/report/html.js';
import { renderJunit } from '../ts/report/junit.js';
import { makeRedactor, redact, redactJson, type Redactor } from '../ts/report/redact.js';
import { readPatchInfo } from '../ts/report/model.js';
import { readResultsFile, type ResultsFile } from '../ts/report/results.js';
import type { RunResult } from '../ts/contract/results.js';

const FIXTURE = join(import.meta.dirname, 'fixtures/report/run');
const tmps: string[] = [];
afterAll(() => tmps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A fresh copy of the fixture run dir and its parsed results. */
function fixtureCopy(): { dir: string; res: ResultsFile } {
  const dir = mkdtempSync(join(tmpdir(), 'closekit-report-'));
  tmps.push(dir);
  cpSync(FIXTURE, dir, { recursive: true });
  return { dir, res: readResultsFile(join(dir, 'results.json')) };
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const find = (res: ResultsFile, s: string, rt: 'js' | 'py', v: 'unpatched' | 'patched') => res.runs.find((r) => r.scenario === s && r.runtime === rt && r.variant === v)!;

describe('writeReports on a real verify run', () => {
  const { dir, res } = fixtureCopy();
  let files: string[] = [];

  it('writes every report file and says so', async () => {
    ({ files } = await writeReports(dir, res));
    expect(files).toEqual(
      expect.arrayContaining(['issue-agents-js.md', 'issue-agents.md', 'report.html', 'junit.xml', 'patches/SHA256SUMS', 'patches/README.md', 'patches/agents-js/0001-bound-forced-session-close.patch', 'patches/agents/0001-bound-forced-session-close.patch']),
    );
    for (const f of files) expect(statSync(join(dir, f)).size, f).toBeGreaterThan(0);
  });

  it('the issue matrix shows hang → closed for every wedge scenario, per runtime', () => {
    const wedges = [...new Set(res.runs.filter((r) => r.expected === 'hang').map((r) => r.scenario))];
    expect(wedges.sort()).toEqual(['hangup-on-exit-wedge', 'hangup-tool-wedge']);
    for (const [rt, file] of [['js', 'issue-agents-js.md'], ['py', 'issue-agents.md']] as const) {
      const md = readFileSync(join(dir, file), 'utf8');
      for (const s of wedges) {
        const row = md.split('\n').find((l) => l.startsWith(`| \`${s}\` |`));
        expect(row, `${file}: row for ${s}`).toBeDefined();
        // verdict column: unpatched (bold) → patched, straight from the fixture's verdicts
        expect(find(res, s, rt, 'unpatched').verdict).toBe('hang');
        expect(find(res, s, rt, 'patched').verdict).toBe('closed');
        expect(row).toContain('| **hang** → closed |');
        expect(row).toContain(`| never → ${Math.round(find(res, s, rt, 'patched').closeMs!)} |`);
      }
      const clean = md.split('\n').find((l) => l.startsWith('| `hangup-clean` |'))!;
      expect(clean).toContain('| closed |');
      // Reproduce command for the upstream, per hang
      for (const s of wedges) expect(md).toContain(`node bin/kit.mjs repro -r ${rt} -s ${s}`);
      // environment from res.env
      expect(md).toContain(`\`${res.env.livekitServer}\``);
      expect(md).toContain(`\`${res.env.kitCommit}\``);
      // fix: subject from the patch file, linked relative into the bundle
      const [patch] = readPatchInfo(PATCHES_DIR, rt === 'js' ? 'agents-js' : 'agents');
      expect(md).toContain(`### [${patch!.subject}](patches/${rt === 'js' ? 'agents-js' : 'agents'}/0001-bound-forced-session-close.patch)`);
      expect(md).toMatch(/<details><summary>(js|py)-worker\.log/);
    }
  });

  it('hang sections name the parked step from the capture', () => {
    for (const [rt, file] of [['js', 'issue-agents-js.md'], ['py', 'issue-agents.md']] as const) {
      const md = readFileSync(join(dir, file), 'utf8');
      for (const r of res.runs.filter((x) => x.runtime === rt && x.verdict === 'hang')) {
        const step = r.parked?.open.at(-1) ?? r.parkedAfter;
        expect(step).toBeTruthy();
        expect(md).toContain(`## Hang: \`${r.scenario}\`: parked in \`${step}\``);
      }
    }
    // Python: the live task capture, trimmed to the agents frames (decorator frames gone)
    const py = readFileSync(join(dir, 'issue-agents.md'), 'utf8');
    expect(py).toContain('livekit/agents/voice/agent_activity.py:1449 in _pause_scheduling_task');
    expect(py).toContain('closekit_shim/wedge.py:62 in park_forever  (agent code)');
    expect(py).not.toMatch(/async_fn_logs\n/);
  });

  it('the parked step follows the data, not the text: change the capture and the heading changes', () => {
    const { dir: d2, res: r2 } = fixtureCopy();
    const js = find(r2, 'hangup-tool-wedge', 'js', 'unpatched');
    js.parked = { open: ['activity.close', 'sentinel.innermostStep'], tasks: [] };
    const py = find(r2, 'hangup-on-exit-wedge', 'py', 'unpatched');
    py.parked = null;
    py.parkedAfter = 'sentinel.parkedAfter';
    const red = makeRedactor();
    const mdJs = renderIssue('js', r2, { runDir: d2, patches: [], redact: red });
    const mdPy = renderIssue('py', r2, { runDir: d2, patches: [], redact: red });
    expect(mdJs).toContain('## Hang: `hangup-tool-wedge`: parked in `sentinel.innermostStep`');
    expect(mdPy).toContain('## Hang: `hangup-on-exit-wedge`: parked in `sentinel.parkedAfter`');
    expect(mdPy).toContain('No live capture');
  });

  it('a session that closed with a socket left open is a hang about what is open, and a patched one says what else upstream needs', () => {
    const { dir: d2, res: r2 } = fixtureCopy();
    for (const v of ['unpatched', 'patched'] as const) {
      const r = find(r2, 'hangup-clean', 'py', v);
      r.verdict = 'hang';
      r.expected = 'hang';
      r.matched = true;
      r.reason = 'the session closed, but 1 provider socket(s) (tts) outlived the close';
      r.sockets = [{ id: 'sentinel-tts-socket', kind: 'tts', worker: 'py', openedAt: -4000, closedAt: null, closeCode: null, errorsSent: [] }];
      r.openSocketsAfterClose = 1;
      if (v === 'patched') r.uncured = 'sentinel: release the TTS pool at the close';
    }
    const md = renderIssue('py', r2, { runDir: d2, patches: [], redact: makeRedactor() });
    expect(md).toContain('## Hang: `hangup-clean`: the session closed, but 1 provider socket(s) (tts) outlived the close');
    expect(md).toContain('### What is still open');
    expect(md).toContain('| `sentinel-tts-socket` | tts | -4000 |');
    expect(md).toMatch(/In \*\*1 of \d+\*\* scenarios \(`hangup-clean`\) the session's close event fires, but provider sockets outlive the close/);
    expect(md).toMatch(/Not cured by this fix[^\n]*`hangup-clean` stays hang[^\n]*sentinel: release the TTS pool at the close/);
    // the drain-hang summary does not count it as a close that never completed
    expect(md).not.toMatch(/never completes in \*\*\d+ of \d+\*\* scenarios: [^\n]*hangup-clean/);
    // and the untouched fixture says nothing of the kind
    expect(renderIssue('py', res, { runDir: dir, patches: [], redact: makeRedactor() })).not.toContain('Not cured by this fix');
  });

  it('junit.xml has one testcase per run, and a failure only where the verdict missed', () => {
    const xml = readFileSync(join(dir, 'junit.xml'), 'utf8');
    const cases = [...xml.matchAll(/<testcase classname="([^"]+)" name="([^"]+)"/g)].map((m) => `${m[1]}|${m[2]}`);
    expect(cases.sort()).toEqual(res.runs.map((r) => `${r.scenario}|${r.runtime} ${r.runtimeVersion} ${r.variant}`).sort());
    expect(xml).not.toContain('<failure');
    expect(xml).toContain(`tests="${res.runs.length}" failures="0"`);
    // A run that did not match its expectation becomes a failure with the reason.
    const bad: ResultsFile = structuredClone(res);
    const r = find(bad, 'hangup-tool-wedge', 'py', 'patched');
    Object.assign(r, { verdict: 'hang', matched: false, reason: 'close requested but never completed' } satisfies Partial<RunResult>);
    const xml2 = renderJunit(bad, makeRedactor());
    expect(xml2).toContain('failures="1"');
    expect(xml2).toMatch(/<testcase classname="hangup-tool-wedge" name="py 1.8.9 patched"[^>]*>\s*<failure message="expected closed, got hang: close requested but never completed" type="verdict">/);
  });

  it('the patch bundle holds the exact patches and its SHA256SUMS match', () => {
    const sums = readFileSync(join(dir, 'patches/SHA256SUMS'), 'utf8').trim().split('\n');
    // one line per patch file the repository carries, both upstreams
    const carried = ['agents-js', 'agents'].flatMap((up) => readdirSync(join(PATCHES_DIR, up)).filter((f) => f.endsWith('.patch')).map((f) => `${up}/${f}`));
    expect(sums.map((l) => l.split(/\s+/)[1]).sort()).toEqual(carried.sort());
    for (const line of sums) {
      const [sha, rel] = line.split(/\s+/);
      const copy = readFileSync(join(dir, 'patches', rel!));
      expect(createHash('sha256').update(copy).digest('hex'), rel).toBe(sha);
      expect(copy.equals(readFileSync(join(PATCHES_DIR, rel!))), `${rel} is byte-identical`).toBe(true);
    }
    const readme = readFileSync(join(dir, 'patches/README.md'), 'utf8');
    expect(readme).toContain(`@livekit/agents@${res.env.agentsJs}`);
    expect(readme).toContain(`livekit-agents==${res.env.agentsPy}`);
  });

  it('report.html is self-contained: matrix, one SVG per scenario, no external references', () => {
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    const scenarios = [...new Set(res.runs.map((r) => r.scenario))];
    expect(html.match(/<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="timeline"/g)).toHaveLength(scenarios.length);
    for (const s of scenarios) expect(html).toContain(`data-scenario="${s}"`);
    expect(html).toContain('<table class="matrix">');
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(html).not.toMatch(/<script|<link|@import|url\((?!#)/);
  });

  it('no local paths or hostnames in any report', () => {
    for (const f of files.filter((x) => !x.endsWith('.patch'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      expect(text, f).not.toMatch(/\/work\/|\/root\/|\/home\/|\/tmp\/|198\.18\.\d/);
    }
  });
});

describe('redaction', () => {
  const ROOT_FAKE = '/srv/ci/checkouts/closekit';
  const planted = {
    kitKey: 'ckjs0a1b2c3d',
    kitSecret: 'Zx9kQ2mP7vLw4Rt8Yb3Nc6Hd1Jf5Gs0Ae2Ui7Ko4Mp3', // 43 chars, base64url
    genericKey: 'sk-live-7f3a9c2e1b',
    genericSecret: 'hunter2-correct-horse',
    jwt: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJja2pzIiwic3ViIjoiYWdlbnQifQ.c2lnbmF0dXJlLWJ5dGVz',
    sipPassword: 'trunkPa55word',
    digestResponse: '6629fae49393a05397450978507c4ef1',
    phone: '+15550123456',
    ipLan: '10.20.30.40',
    ipNs: '198.18.7.2',
    ipv6: 'fd12:3456:789a::42',
    homeRoot: '/root/.config/livekit/secrets.yaml',
    homeUser: '/home/alice/projects/agent',
    repoPath: `${ROOT_FAKE}/.kit/runtimes/js/1.9.0/node_modules/@livekit/agents/dist/voice/agent_session.js`,
    hostname: 'build-host-7',
  };
  // The strings that must not appear anywhere (the repo path is checked by its root).
  const forbidden = [planted.kitKey, planted.kitSecret, planted.genericKey, planted.genericSecret, planted.jwt.slice(0, 40), planted.sipPassword, planted.digestResponse, '15550123456', planted.ipLan, planted.ipNs, planted.ipv6, '/root/', '/home/alice', ROOT_FAKE, planted.hostname];

  const lines = [
    `LIVEKIT_API_KEY=${planted.kitKey} LIVEKIT_API_SECRET=${planted.kitSecret}`,
    `{"level":30,"hostname":"${planted.hostname}","msg":"config","api_key":"${planted.genericKey}","secret":"${planted.genericSecret}"}`,
    `connecting with token ${planted.jwt}, signing with ${planted.kitSecret}`,
    `INVITE sip:alice:${planted.sipPassword}@${planted.ipLan}:5060 SIP/2.0`,
    `Authorization: Digest username="alice", realm="lk", nonce="abc", uri="sip:${planted.phone}@${planted.ipNs}", response="${planted.digestResponse}"`,
    `dialing ${planted.phone} via ${planted.ipNs} and ${planted.ipv6} from ${planted.hostname}`,
    `File "${planted.homeRoot}", line 3; cwd ${planted.homeUser}; module ${planted.repoPath}`,
    // a Go stack trace logged as a JSON string: the paths follow an escaped tab
    `{"stacktrace":"main.run\\n\\t/root/go/pkg/mod/github.com/livekit/x.go:12\\n\\t/home/alice/go/y.go:3"}`,
  ];

  /** The fixture with every kind planted into a hang run's log, its timeline, reason, stt errors and the env. */
  function planted_run(): { dir: string; res: ResultsFile } {
    const { dir, res } = fixtureCopy();
    for (const r of res.runs.filter((x) => x.verdict === 'hang')) {
      appendFileSync(join(dir, 'runs', `${r.scenario}.${r.runtime}.${r.variant}`, 'logs', `${r.runtime}-worker.log`), lines.join('\n') + '\n');
      r.timeline.push({ t: 50, ev: 'kit.note', runtime: r.runtime, data: { line: lines.join(' | '), apiSecret: planted.kitSecret, url: `ws://${planted.ipNs}:7880`, nested: { token: planted.jwt } } });
      r.timeline.sort((a, b) => a.t - b.t);
      r.reason = `${r.reason}; worker at ${planted.repoPath} on ${planted.ipNs}`;
      r.sttErrorsAfterHangup.push({ code: 1006, message: `connect failed ('${planted.ipNs}', 7900) ${planted.homeUser}` });
      r.parkedAfter = r.parkedAfter ? `${r.parkedAfter}` : r.parkedAfter;
    }
    res.env = { ...res.env, os: `${res.env.os} on ${planted.hostname}`, note: `${planted.repoPath} ${planted.ipLan}` };
    return { dir, res };
  }

  it('the planted values would reach the reports without redaction (so the check below means something)', () => {
    const { dir, res } = planted_run();
    const none: Redactor = Object.assign((s: string) => s, { json: <T>(v: T) => v });
    const text = [renderIssue('js', res, { runDir: dir, patches: [], redact: none }), renderIssue('py', res, { runDir: dir, patches: [], redact: none }), renderHtml(res, none), renderJunit(res, none)].join('\n');
    for (const f of forbidden) expect(text, `planted ${f} reaches the unredacted output`).toContain(f.replace(/&/g, '&amp;'));
  });

  it('no planted secret, address, number, path or host survives in any file under the reports folder, results.json and the run copies included', async () => {
    const { dir: raw, res } = planted_run();
    // The run's own key pair, known to the kit by value (its gateway-keys.json).
    const runKeys = { apiKey: 'ckpy9f8e7d6c', apiSecret: 'Qw3eRt5yUi7oPa9sDf2gHj4kLz6xCv8bNm1Lk3Jh5Gf' };
    // Raw-only files a run holds: its keys and the generated server config; and a timeline line.
    for (const r of res.runs.filter((x) => x.verdict === 'hang')) {
      const sub = join(raw, 'runs', `${r.scenario}.${r.runtime}.${r.variant}`);
      writeFileSync(join(sub, 'gateway-keys.json'), JSON.stringify({ py: runKeys }));
      writeFileSync(join(sub, 'livekit.yaml'), `keys:\n  ${runKeys.apiKey}: ${runKeys.apiSecret}\n`);
      appendFileSync(join(sub, 'logs', `${r.runtime}-worker.log`), `registered with ${runKeys.apiKey} / ${runKeys.apiSecret}\n`);
      appendFileSync(join(sub, 'events.jsonl'), JSON.stringify({ t: 1, ev: 'job.started', runtime: r.runtime, data: { token: planted.jwt, url: `ws://${planted.ipNs}:7880`, cwd: planted.homeUser } }) + '\n');
    }
    const out = mkdtempSync(join(tmpdir(), 'ck-reports-'));
    const { files } = await writeReports(out, res, { root: ROOT_FAKE, hostname: planted.hostname, rawDir: raw });
    const all = walk(out).map((p) => relative(out, p));
    expect(all.sort()).toEqual([...files].sort());
    for (const f of ['results.json', 'issue-agents-js.md', 'issue-agents.md', 'junit.xml', 'report.html', 'patches/README.md', 'patches/SHA256SUMS']) expect(all).toContain(f);
    const hang = res.runs.find((x) => x.verdict === 'hang')!;
    const sub = `runs/${hang.scenario}.${hang.runtime}.${hang.variant}`;
    for (const f of ['events.jsonl', 'scenario.json', `logs/${hang.runtime}-worker.log`]) expect(all).toContain(`${sub}/${f}`);
    // The keys and the generated configs never leave the raw folder.
    expect(all.filter((f) => /gateway-keys\.json$|\.ya?ml$/.test(f))).toEqual([]);
    // Every text file, and every entry of the attachments zip (the PNGs are pictures of the redacted SVG).
    const texts: Array<[string, string]> = all.filter((f) => !f.endsWith('.patch') && !f.endsWith('.png') && !f.endsWith('.zip')).map((f) => [f, readFileSync(join(out, f), 'utf8')]);
    const zips = all.filter((f) => f.endsWith('.zip'));
    expect(zips).toEqual([`attachments/closekit-${res.runId}.zip`]);
    const entries = unzipSync(readFileSync(join(out, zips[0]!)));
    expect(Object.keys(entries)).toContain('closekit-report/results.json');
    expect(Object.keys(entries)).toContain('closekit-report/report.html');
    for (const [name, data] of Object.entries(entries)) if (!name.endsWith('.patch')) texts.push([`${zips[0]}:${name}`, strFromU8(data)]);
    expect(texts.length).toBeGreaterThan(20);
    for (const [p, text] of texts) {
      for (const f of [...forbidden, runKeys.apiKey, runKeys.apiSecret]) expect(text.includes(f), `${p} leaks ${f}`).toBe(false);
    }
    // and the placeholders say what was there
    const md = readFileSync(join(out, 'issue-agents.md'), 'utf8');
    for (const ph of ['<api-key>', '<secret>', '<jwt>', '<ip>', '<phone>', '<home>', '<kit>', '<host>', 'sip:<redacted>@', 'Digest <redacted>']) expect(md, ph).toContain(ph);
    // the redacted results.json is still results.json
    expect(readResultsFile(join(out, 'results.json')).runs).toHaveLength(res.runs.length);
  });

  it('keeps what is not secret: loopback, versions, clock times, counters', () => {
    const s = '127.0.0.1:7880 v1.13.5 livekit-agents 1.8.9 at 02:55:26 "prompt_tokens": 12 ::1 APIStatusError';
    expect(redact(s)).toBe(s);
    expect(redactJson({ apiKey: 'ckkit47d597a9', nested: [{ password: 'x y z' }], n: 3 })).toEqual({ apiKey: '<redacted>', nested: [{ password: '<redacted>' }], n: 3 });
  });

  it('keeps source code that assigns a call to a secret-ish name, and still redacts a plain value', () => {
    const code = '             close_token = otel_context.attach(trace.set_span_in_context(close_span))';
    expect(redact(code)).toBe(code);
    expect(redact('auth_token = abcdef123456')).toBe('auth_token = <redacted>');
    expect(redact("apiKey: 'test-key', apiSecret: 'test-secret'")).toBe("apiKey: 'test-key', apiSecret: 'test-secret'");
    expect(redact("apiSecret: 'test-9f8e7d6c5b4a'")).toBe("apiSecret: '<redacted>'");
  });

  it('leaves the fix patches unchanged (they are copied byte for byte, so they must not need it)', () => {
    for (const up of ['agents-js', 'agents']) {
      for (const f of readdirSync(join(PATCHES_DIR, up)).filter((x) => x.endsWith('.patch'))) {
        const t = readFileSync(join(PATCHES_DIR, up, f), 'utf8');
        expect(redact(t) === t, `${up}/${f}`).toBe(true);
      }
    }
  });
});

describe('issue text GitHub accepts', () => {
  const bodyOf = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');

  it('the fixture fits whole: no details file', async () => {
    const { dir, res } = fixtureCopy();
    const { files } = await writeReports(dir, res, { attachments: false });
    for (const f of ['issue-agents-js.md', 'issue-agents.md']) expect(bodyOf(dir, f).length).toBeLessThanOrEqual(60_000);
    expect(files.filter((f) => f.endsWith('-details.md'))).toEqual([]);
  });

  it('over the budget: the body stays within it, names the details file, and the details carry every hang section in full', async () => {
    const { dir, res } = fixtureCopy();
    const limit = 9_000;
    const { files } = await writeReports(dir, res, { issueLimit: limit });
    for (const [issue, details] of [['issue-agents-js.md', 'issue-agents-js-details.md'], ['issue-agents.md', 'issue-agents-details.md']] as const) {
      const body = bodyOf(dir, issue);
      expect(body.length, issue).toBeLessThanOrEqual(limit);
      expect(body).toContain(`\`${details}\` inside \`attachments/closekit-${res.runId}.zip\``);
      expect(files).toContain(details);
      const rt = issue === 'issue-agents.md' ? 'py' : 'js';
      const hangs = res.runs.filter((r) => r.runtime === rt && r.verdict === 'hang');
      const full = bodyOf(dir, details);
      for (const r of hangs) expect(full).toContain(`## Hang: \`${r.scenario}\``);
      expect(full).toContain('-worker.log, last');
      // the summary and the fix survive in the body
      expect(body).toContain('## Summary');
      expect(body).toContain('## Fix');
    }
  });

  it('a matrix many times the size of today\'s still gives bodies within 60,000 characters', async () => {
    const { dir, res } = fixtureCopy();
    const big: ResultsFile = structuredClone(res);
    // 12 versions of every run: what a version matrix over a release range produces.
    big.runs = Array.from({ length: 12 }, (_, i) => res.runs.map((r) => ({ ...structuredClone(r), runtimeVersion: `${r.runtimeVersion}-v${i}`, scenario: `${r.scenario}-v${i}` }))).flat();
    await writeReports(dir, big, { attachments: false });
    for (const f of ['issue-agents-js.md', 'issue-agents.md']) {
      const body = bodyOf(dir, f);
      expect(body.length, f).toBeLessThanOrEqual(60_000);
      expect(body.length, f).toBeGreaterThan(20_000);
    }
  });
});
