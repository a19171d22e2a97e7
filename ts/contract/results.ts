/**
 * results.json (README "What you get"): what one run of the matrix produced, the file
 * every reporter reads and `kit report` re-renders from alone. Also the axes of the
 * matrix: runtimes, variants, verdicts.
 */
import type { ParkedReport } from './parked.js';

/** The runtime axis. The per-runtime behaviour is one table, `ts/matrix/runtimes.ts`; these are the ids and names only. */
export const RUNTIME_IDS = ['js', 'py'] as const;
export type Runtime = (typeof RUNTIME_IDS)[number];

/** How reports name each runtime: the package, and the short and long forms. */
export const RUNTIME_NAMES: Record<Runtime, { package: string; short: string; long: string }> = {
  js: { package: '@livekit/agents', short: 'agents-js', long: 'agents-js' },
  py: { package: 'livekit-agents', short: 'Python', long: 'Python livekit-agents' },
};

export const VARIANTS = ['unpatched', 'patched'] as const;
export type Variant = (typeof VARIANTS)[number];

/**
 * `hang`: the forced close never completed; `closed`; `error`: anything that is not the bug
 * under test; `unsupported`: the kit cannot drive this version (it does not install, the
 * worker does not start, or the agent under test needs an API it lacks), never a verdict on the bug.
 */
export const VERDICTS = ['hang', 'closed', 'error', 'unsupported'] as const;
export type Verdict = (typeof VERDICTS)[number];

/**
 * A `hang` whose close event fired: the session closed, but provider sockets the worker
 * opened outlived the close (verdict/index.ts `judge`; seed 000). The other `hang` is a close
 * event that never fired.
 */
export function socketsOutlivedClose(r: { verdict: Verdict; closeEvent: string | null }): boolean {
  return r.verdict === 'hang' && r.closeEvent !== null;
}

/**
 * What a scenario's close waits on (scenario/spec.ts closeWaitsOn) when only its requester
 * holds it up: an end-call tool awaiting its own close with nothing else wedged. A fix must
 * not wait for the requester at all, so such a close is judged by the force-stop point, not
 * by the bound (verdict/checks.ts).
 */
export const CLOSE_WAITS_ON_REQUESTER = 'end_call_tool';

/** One installed runtime a worker runs on (what the matrix's runtime table resolves). */
export interface RuntimeInstall {
  runtime: Runtime;
  variant: Variant;
  /** Package version, e.g. '1.9.0' (js) or '1.8.9' (py): what actually runs. */
  version: string;
  /** The release of the matrix this install stands for, when `version` differs (a candidate checkout or release judged against it). */
  baseVersion?: string;
  /** js: the runtime dir (npm project); py: the venv's python executable. */
  location: string;
  /** Known fix-ups the kit applied to make this release drivable (e.g. an undeclared dependency it installed). */
  notes?: string[];
  /** The worker runs in this container image instead of straight from the install (`--py-worker container`). */
  container?: { image: string; imageId: string; engine: string };
}

/** How a run's worker ran: from the install on the host, or in a container image. */
export interface WorkerMode {
  mode: 'venv' | 'npm' | 'container';
  image?: string;
  imageId?: string;
}

/**
 * What the patched variant ran: closekit's patches/, or a maintainer's candidate
 * (`kit verify --js-fix/--py-fix`): a patch file, a checkout, a git ref, a published version.
 */
export interface Candidate {
  runtime: Runtime;
  kind: 'patches' | 'patch' | 'checkout' | 'git' | 'version';
  /** How the reports name it, e.g. `checkout at 8c88e3b3a1f2 + uncommitted edits (agents 1.7.0)`. */
  label: string;
  files?: string[];
  file?: string;
  sha256?: string;
  url?: string;
  ref?: string;
  commit?: string | null;
  dirty?: boolean;
  /** The package version the candidate is (a checkout's own version, or the published one). */
  version?: string | null;
}

/** One provider socket from the gateway's ledger (ts/providers/ledger.ts LedgerEntry, the fields a run keeps). */
export interface LedgerSocket {
  id: string;
  kind: 'stt' | 'tts' | 'llm';
  /** API key label from the JWT issuer ('js' | 'py'). */
  worker: string | null;
  /** ms; in results.json relative to the hangup. */
  openedAt: number;
  closedAt: number | null;
  closeCode: number | null;
  closedBy?: 'client' | 'gateway' | null;
  bytesIn?: number;
  bytesOut?: number;
  /** Error codes the gateway sent on it, e.g. [2007]. */
  errorsSent: number[];
}

/** SIP runs: the call as the agent saw it when the caller left (sip.* participant attributes). */
export interface SipCall {
  callId: string | null;
  callStatus: string | null;
  disconnectReason: string | null;
  attributes: Record<string, string>;
  /** livekit-sip's log lines for this call that made it onto the timeline. */
  livekitSipLines: number;
}

/** One timeline entry of a result: `t` in ms relative to the hangup (negative before it). */
export interface TimelineEntry {
  t: number;
  ev: string;
  runtime?: string;
  data?: Record<string, unknown>;
}

/**
 * Seed 002 (scenario `lifecycle.shutdownCallback`): how the job process ended after its
 * shutdown callbacks. Times in ms, null when the anchor or the end is missing.
 */
export interface JobEndResult {
  /** `exited` on its own (job.exit), `killed` by the worker's supervisor (its unresponsive line), `alive` at the end of the watch. */
  how: 'exited' | 'killed' | 'alive';
  /** What held the process (`job.hold.kind`), null when the hold never started. */
  hold: string | null;
  /** The job's shutdown callbacks ran (after the hangup). */
  shutdownCallbackRan: boolean;
  /** `exited`: the code `job.exit` reported (null when unknown or not exited). */
  exitCode: number | null;
  /** The supervisor's own line for the kill, e.g. `process is unresponsive, killing process` (livekit-agents) / `job is unresponsive` (agents-js). */
  supervisorLine: string | null;
  /** room gone (the job's `room.disconnected`) → kill or exit. */
  afterRoomGoneMs: number | null;
  /** the caller's hangup → kill or exit. */
  afterHangupMs: number | null;
  /** the hold's start (`job.hold`) → kill or exit: about the pong timeout when the hold starves the pings. */
  afterHoldMs: number | null;
  /** The supervisor's pong timeout the run used (lifecycle.pingTimeoutMs). */
  pingTimeoutMs: number | null;
}

/** Seed 001 (scenario `lifecycle.sigterm`): the worker process's exit after the kit's SIGTERM. */
export interface WorkerExit {
  /** ms SIGTERM → the worker process exited; null when it did not exit within the watch (`watchedMs`). */
  afterSigtermMs: number | null;
  code: number | null;
  signal: string | null;
  /** What bounds the exit by the worker's own options: drainTimeoutMs + shutdownProcessTimeoutMs (ms). */
  boundMs: number;
  drainTimeoutMs: number;
  shutdownProcessTimeoutMs: number;
  /** How long the kit waited for the exit (ms). */
  watchedMs: number;
  /** Provider sockets of this worker still open when it exited (ledger read just after; a socket the exit itself dropped counts as closed at the exit). */
  socketsOpenAtExit: number;
  /** Sockets that had closed before the exit (closedAt < exit), of all the worker opened. */
  socketsClosedBeforeExit: number;
  socketsTotal: number;
}

/** One scenario × runtime × variant. */
export interface RunResult {
  scenario: string;
  runtime: Runtime;
  /** The package version that ran. */
  runtimeVersion: string;
  /** The release of the matrix it stands for (differs from runtimeVersion for a candidate checkout or release); absent in older results. */
  baselineVersion?: string;
  variant: Variant;
  caller: string;
  verdict: Verdict;
  expected: Verdict;
  /** The scenario's `expect.uncured`: what the fix leaves hanging and what else upstream needs (patched hangs only). */
  uncured?: string;
  /** verdict === expected and no failed check. */
  matched: boolean;
  reason: string;
  /** ms from hangup to the AgentSession close event; null when it never fired. */
  closeMs: number | null;
  /** ms from the close request (worker event `close.requested`) to the close event: the span the fix bounds. Null when it never closed. */
  closeRequestMs?: number | null;
  closeEvent: string | null;
  openSocketsAfterClose: number;
  /** STT sockets the worker opened after the hangup (reconnects after 2007 or errors). */
  gatewayReconnects: number;
  /** 2007 idle errors the gateway sent to this worker. */
  idleErrorsAfterHangup: number;
  /** What the worker's STT stream reported after the hangup (stt.error payloads). */
  sttErrorsAfterHangup: Array<Record<string, unknown>>;
  /** A shutdown callback of the job ran between the hangup and the verdict. */
  shutdownCallbackRan: boolean;
  /** Extra requirements of `kit verify` this run failed (ts/verdict/checks.ts); empty when none apply or all held. */
  failedChecks: string[];
  /** Where the close is parked at a hang: innermost open step the worker reported, else its last event. */
  parkedAfter: string | null;
  /** The live job process's answer to SIGUSR2 at a hang. */
  parked: ParkedReport | null;
  network: 'netns' | 'host';
  sipCall: SipCall | null;
  /** ms: hangup → verdict. */
  hangupToVerdictMs: number | null;
  timeline: TimelineEntry[];
  /** The worker's provider sockets, open/close times relative to the hangup (ms), as at the end of the run. */
  sockets: LedgerSocket[];
  logsDir: string;
  /** Fix-ups the kit applied to this install (RuntimeInstall.notes), when any. */
  installNotes?: string[];
  /**
   * Where the run's wall time went, ms per phase: `stack` (namespace, servers, gateway),
   * `worker` (start to registration), `caller` (room, dispatch, caller published), `cue`
   * (until the scenario's hangup cue, e.g. the wedge entered, plus the hangup delay),
   * `close` (hangup to verdict: the close itself, or the watchdog), `parked` (the SIGUSR2
   * capture), `orphans` (the 2007 evidence window), `teardown`.
   */
  phasesMs?: Record<string, number>;
  /** How the worker ran (absent in older results: from the install on the host). */
  worker?: WorkerMode;
  /** Seed 002: how the job process ended after its shutdown callbacks (scenario lifecycle.shutdownCallback); absent otherwise. */
  jobEnd?: JobEndResult | null;
  /** Seed 001: the worker's exit after the kit's SIGTERM (scenario lifecycle.sigterm); null when the scenario sends none. */
  workerExit?: WorkerExit | null;
}

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** kit verify: upstream's tests and the regression tests, unpatched vs patched (ts/matrix/upstream.ts). */
export interface UpstreamChecks {
  /** agents-js src/voice/*.test.ts (the patch's regression test included on both sides). */
  jsVoiceTests: { unpatched: Counts; patched: Counts; newFailures: string[]; regression: { unpatched: Counts; patched: Counts } } | null;
  /** tests/test_forced_close.py from patches/agents. */
  pyRegression: { unpatched: Counts; patched: Counts; /** pytest's own time for the patched cases (s, virtual time runs them fast) and the process wall time (ms: interpreter start and imports included). */ patchedTestsS?: number; patchedWallMs?: number } | null;
  /** Upstream's own gates (lint, format, types, API report), unpatched vs patched (ts/gates/). */
  gates?: GateRow[];
  /** Human-readable failures of the rules; empty when every rule held. */
  problems: string[];
}

/**
 * One gate's outcome on one tree. `baseline`: the cell is the reference the patched tree is
 * checked against, not a check (the API report of the release, generated from it because
 * upstream's committed report at that release is not reachable). `unsupported`: the gate could
 * not run on this tree (the reason is in `summary`).
 */
export type GateStatus = 'pass' | 'fail' | 'baseline' | 'unsupported';

export interface GateOutcome {
  status: GateStatus;
  /** One line, e.g. `2 errors, 1 warning` or `12 files checked`. */
  summary: string;
  /** Problem counts where the tool reports them (errors, warnings). */
  errors?: number;
  warnings?: number;
  /** The tool's output (tree-relative paths, last 4,000 characters). */
  output: string;
  ms: number;
}

/** One row of the gates table: a gate of a runtime, unpatched vs patched. */
export interface GateRow {
  runtime: Runtime;
  /** `tsc`, `eslint`, `prettier --check`, `api-extractor`, `ruff check`, `ruff format --check`, `mypy`. */
  gate: string;
  /** The command, as run in the tree (upstream's own script where it has one). */
  command: string;
  unpatched: GateOutcome;
  patched: GateOutcome;
}

/** JS vs Python close milestones of one scenario × variant (ts/report/parity.ts). */
export interface ParityRow {
  scenario: string;
  variant: string;
  status: 'same' | 'diverge' | 'incomplete';
  verdicts: { js: string; py: string };
  /** Index into `aligned` of the first pair that differs; null when the same. */
  firstDivergence: number | null;
  /** Human summary, e.g. "#4: js drain.end, py (nothing: still parked)". */
  summary: string;
  /** Pairs of milestones in order; a side is null where that runtime has no such event. */
  aligned: Array<{ js: { ev: string; t: number } | null; py: { ev: string; t: number } | null }>;
}

/** reports/<run-id>/results.json. */
export interface ResultsFile {
  runId: string;
  command: string;
  startedAt: string;
  finishedAt: string;
  env: Record<string, string | null>;
  runs: RunResult[];
  parity?: ParityRow[];
  upstreamTests?: UpstreamChecks;
  /** --shard i/n: this results.json holds slice i of n of the plan named by `plan` (a hash of the whole matrix; kit merge combines them). */
  shard?: { index: number; total: number; plan?: string };
  /** kit merge: the shard runs this run was merged from. */
  mergedFrom?: string[];
  /** kit bisect: the steps and the answer, per runtime bisected. */
  bisect?: Partial<Record<Runtime, BisectResult>>;
  /** kit verify: what the patched variant of each runtime ran (absent in older results: closekit's patches/). */
  candidates?: Partial<Record<Runtime, Candidate>>;
}

/** One step of `kit bisect`: a real run of the scenario on one release. */
export interface BisectStep {
  version: string;
  verdict: Verdict;
  reason: string;
  /** ms of the run (install included). */
  ms: number;
}

/** `kit bisect`: the first release whose verdict differs from the older end's. */
export interface BisectResult {
  runtime: Runtime;
  scenario: string;
  from: string;
  to: string;
  /** Releases in the range (both ends included). */
  candidates: number;
  /** The older end's verdict the search compares against, and the newer end's. */
  goodVerdict: Verdict | null;
  badVerdict: Verdict | null;
  lastGood: string | null;
  firstBad: string | null;
  /** Releases that could not be driven (`unsupported`), skipped as `git bisect skip` does. */
  skipped: Array<{ version: string; reason: string }>;
  steps: BisectStep[];
  /** Fix-ups the kit applied to releases it ran (an undeclared dependency installed, ...). */
  fixups?: string[];
  /** One line, e.g. `last hang: 1.6.3, first closed: 1.7.0`. */
  summary: string;
}
