/**
 * Every pinned external version and every path the kit uses, in one place.
 * Paths are absolute; `.kit/` is the cache that `kit setup` fills idempotently.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Pinned versions. Change a pin here and nowhere else. */
export const VERSIONS = {
  /** Go module github.com/livekit/livekit-server, tag. */
  livekitServer: 'v1.13.5',
  /**
   * Go module github.com/livekit/sip, tag. Not v1.11.0: the Go module proxy these machines
   * reach refuses v1.9.0-v1.11.0 (403 "not available"); v1.8.0 is the newest it serves.
   */
  livekitSip: 'v1.8.0',
  /** npm @livekit/agents. */
  agentsJs: '1.9.0',
  /** npm @livekit/rtc-node that agents-js peers with (^0.13.34 for 1.9.0). */
  rtcNode: '0.13.35',
  /** PyPI livekit-agents. */
  agentsPy: '1.8.9',
} as const;

/**
 * Upstream commits the gates and the Python regression test take their files from
 * (configs, test support files). Each is the newest upstream commit the kit can reach that
 * is not newer than the pinned release's line: neither repository's stored history has the
 * 1.9.0 / 1.8.9 tags, so these are the nearest commits before them (both agents 1.7.0,
 * 2026-08-21/22). Change a pin here and nowhere else (docs/gates.md).
 */
export const UPSTREAM_COMMITS = {
  /** livekit/agents-js: .prettierrc, .eslintrc, tsconfig.json, api-extractor configs, pnpm-lock.yaml. */
  agentsJs: { repo: 'livekit/agents-js', commit: '8c88e3b3acb3ab32dc2d7b19073379f726704015' },
  /** livekit/agents: pyproject.toml (ruff, mypy), tests/ support files (conftest, virtual_time, fakes). */
  agentsPy: { repo: 'livekit/agents', commit: 'da6af86ac640a3bc54585764e64321d7048c1c16' },
} as const;

/**
 * Tool versions of upstream's gates, exact, as upstream's lockfiles at UPSTREAM_COMMITS pin
 * them (agents-js pnpm-lock.yaml importers["."]; livekit/agents uv.lock). The kit installs
 * these into .kit/tools/, never the repository.
 */
export const GATE_TOOLS = {
  js: {
    prettier: '3.2.5',
    '@trivago/prettier-plugin-sort-imports': '4.3.0',
    eslint: '8.57.0',
    '@typescript-eslint/eslint-plugin': '6.21.0',
    '@typescript-eslint/parser': '6.21.0',
    'eslint-config-prettier': '8.10.0',
    'eslint-config-turbo': '2.10.1',
    'eslint-plugin-prettier': '5.1.3',
    'eslint-plugin-tsdoc': '0.2.17',
    typescript: '5.9.3',
    '@microsoft/api-extractor': '7.58.12',
    '@types/node': '22.19.1',
    // agents/package.json devDependencies the type check needs (pnpm-lock.yaml importers.agents)
    '@types/fluent-ffmpeg': '2.1.28',
    '@types/json-schema': '7.0.15',
    '@types/pidusage': '2.0.5',
    '@types/ws': '8.18.1',
  },
  py: {
    ruff: '0.15.22',
    mypy: '2.3.0',
    /**
     * Upstream's `typing` dependency group (pyproject.toml) at its uv.lock versions, without
     * pandas-stubs, scipy-stubs and types-tensorflow (only plugins import those), plus the two
     * stub packages the group pulls in transitively.
     */
    stubs: [
      'types-aiofiles==25.1.0.20260518',
      'types-cffi==2.0.0.20260518',
      'types-defusedxml==0.7.0.20260504',
      'types-grpcio==1.82.1.20260711',
      'types-grpcio-status==1.0.0.20260408',
      'types-gunicorn==26.0.0.20260518',
      'types-openpyxl==3.1.5.20260518',
      'types-pexpect==4.9.0.20260518',
      'types-protobuf==7.34.1.20260518',
      'types-psutil==7.2.2.20260518',
      'types-pyasn1==0.6.0.20260408',
      'types-pyaudio==0.2.16.20260508',
      'types-pygments==2.20.0.20260518',
      'types-pysocks==1.7.1.20260518',
      'types-python-dateutil==2.9.0.20260716',
      'types-pyyaml==6.0.12.20260518',
      'types-regex==2026.7.10.20260711',
      'types-requests==2.33.0.20260712',
      'types-simplejson==3.20.0.20260518',
      'types-tqdm==4.68.0.20260608',
      'types-xlrd==2.0.0.20260518',
    ],
  },
} as const;

/**
 * The forced-close bound (ms) our patches give both runtimes by default
 * (agents-js `DEFAULT_FORCED_CLOSE_TIMEOUT = 5_000`, livekit-agents
 * `DEFAULT_FORCED_CLOSE_TIMEOUT = 5.0`). `kit verify` requires every patched wedge run to
 * close within this plus 1 s.
 */
export const FORCED_CLOSE_BOUND_MS = 5_000;

export const KIT_DIR = process.env.CLOSEKIT_KIT_DIR ? resolve(process.env.CLOSEKIT_KIT_DIR) : join(ROOT, '.kit');
export const BIN_DIR = join(KIT_DIR, 'bin');
export const RUNTIMES_DIR = join(KIT_DIR, 'runtimes');
/** Raw runs (keys, configs, unredacted logs and results): `.kit/runs/<run-id>/`. Never attached anywhere. */
export const RUNS_DIR = process.env.CLOSEKIT_RUNS_DIR ? resolve(process.env.CLOSEKIT_RUNS_DIR) : join(KIT_DIR, 'runs');
/** What may be attached to a public issue: `reports/<run-id>/`, redacted copies only. */
export const REPORTS_DIR = process.env.CLOSEKIT_REPORTS_DIR ? resolve(process.env.CLOSEKIT_REPORTS_DIR) : join(ROOT, 'reports');
export const SCENARIOS_DIR = join(ROOT, 'scenarios');
export const PATCHES_DIR = join(ROOT, 'patches');

export const LIVEKIT_SERVER_BIN = join(BIN_DIR, 'livekit-server');
export const LIVEKIT_SIP_BIN = join(BIN_DIR, 'livekit-sip');

/** The run network: each run gets 198.18.<n>.0/24; .1 is the host end, .2 the namespace end. */
export const NET = {
  prefix: '198.18',
  hostOctet: 1,
  nsOctet: 2,
};

/** Default ports inside the run's namespace (each run has its own namespace, so no collision). */
export const PORTS = {
  livekitHttp: 7880,
  livekitRtcTcp: 7881,
  livekitUdpStart: 50000,
  livekitUdpEnd: 50100,
  redis: 6379,
  gateway: 7900,
  sip: 5060,
  sipRtpStart: 20000,
  sipRtpEnd: 20100,
};
