/**
 * Setup steps of the SIP path (see ts/steps.ts): the Debian packages livekit-sip links
 * against (cgo: libopus, libopusfile, libsoxr, found through pkg-config), redis-server
 * (livekit-server and livekit-sip talk over its pub/sub), sipp (Debian `sip-tester`, the
 * SIP caller) and the livekit-sip binary itself, built from its Go module at the pin.
 *
 * Why livekit-sip is not built with `go install <pkg>@<tag>`: that command first asks the
 * module proxy for the module's version list (to print deprecation notices), and the proxy
 * these machines reach refuses `github.com/livekit/sip/@v/list` (403) while it serves the
 * pinned version's `.mod` and `.zip`. A throw-away main module that `require`s the tag and
 * `go build`s the command package builds the same thing: livekit/sip's go.mod has no
 * `replace` directives (the only thing `go install @version` would have refused), so the
 * build list is livekit/sip's own requirement graph.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { BIN_DIR, KIT_DIR, LIVEKIT_SIP_BIN, VERSIONS } from '../config.js';
import { KitError } from '../errors.js';
import type { SetupStep, StepStatus } from '../steps.js';

/** Go module and command package of livekit-sip. */
export const LIVEKIT_SIP_MODULE = 'github.com/livekit/sip';
export const LIVEKIT_SIP_PKG = `${LIVEKIT_SIP_MODULE}/cmd/livekit-sip`;
/** Upstream's version/version.go: `var Version = "0.0.0-dev"`, meant to be set with -ldflags -X. */
const VERSION_SYMBOL = `${LIVEKIT_SIP_MODULE}/version.Version`;
/** Next to the binary: the tag and Go version it was built from (JSON). */
export const LIVEKIT_SIP_MARKER = `${LIVEKIT_SIP_BIN}.build.json`;
/** pkg-config names livekit-sip's cgo code links (gopkg.in/hraban/opus.v2, soxr resampler). */
export const SIP_PKGCONFIG = ['opus', 'opusfile', 'soxr'];
/** Debian packages that provide them. */
export const SIP_BUILD_PACKAGES = ['libopus-dev', 'libopusfile-dev', 'libsoxr-dev', 'pkg-config'];

const GO_FIX = 'install Go 1.26 or newer (livekit/sip go.mod says `go 1.26`; https://go.dev/doc/install) and put its bin directory on PATH, e.g. export PATH=$PATH:/usr/local/go/bin';

export interface AptOptions {
  /** Replaces the environment of apt/dpkg lookups (tests pass a PATH without apt-get). */
  env?: NodeJS.ProcessEnv;
  /** Overrides the root check (tests). */
  isRoot?: () => boolean;
}

/**
 * A step that installs Debian packages when any is missing. check: `dpkg-query -W` says
 * every package is "install ok installed" (found = the first package's version). install:
 * `apt-get update` once per kit process (a fresh machine often has no package lists), then
 * `apt-get install -y --no-install-recommends <pkgs>`.
 * @throws KitError (exit 2) from install when not root, when apt-get is missing (not a
 *   Debian-like system), or when apt-get fails (with its last lines).
 */
export function aptStep(o: { name: string; packages: string[]; pinned?: string; feature?: SetupStep['feature'] } & AptOptions): SetupStep {
  const fix = `apt-get install -y ${o.packages.join(' ')} (as root)`;
  return {
    name: o.name,
    pinned: o.pinned ?? `Debian ${o.packages.join(', ')}`,
    required: true,
    feature: o.feature ?? 'sip',
    fix,
    async check(): Promise<StepStatus> {
      const st = await dpkgStatus(o.packages, o.env);
      const missing = o.packages.filter((p) => !st.get(p));
      if (missing.length) return { ok: false, found: null, detail: `missing Debian packages: ${missing.join(' ')}` };
      return { ok: true, found: st.get(o.packages[0]) ?? null, detail: o.packages.map((p) => `${p} ${st.get(p)}`).join(', ') };
    },
    async install(log) {
      const st = await dpkgStatus(o.packages, o.env);
      const missing = o.packages.filter((p) => !st.get(p));
      if (missing.length === 0) return;
      await aptInstall(missing, log, o);
    },
  };
}

let aptUpdated: Promise<void> | null = null;

/**
 * `apt-get update` (once per process) then `apt-get install -y --no-install-recommends`.
 * @throws KitError when not root, apt-get is missing, or the install fails.
 */
export async function aptInstall(pkgs: string[], log: (line: string) => void, o: AptOptions = {}): Promise<void> {
  const fix = `apt-get install -y ${pkgs.join(' ')} (as root)`;
  const root = o.isRoot ? o.isRoot() : process.getuid?.() === 0;
  if (!root) throw new KitError(`Debian packages ${pkgs.join(' ')} are missing and the kit is not root, so it cannot install them`, { fix: `sudo ${fix}` });
  const env = { ...(o.env ?? process.env), DEBIAN_FRONTEND: 'noninteractive' };
  const probe = await execa('apt-get', ['--version'], { env, extendEnv: false, reject: false });
  if (probe.failed) {
    throw new KitError(`Debian packages ${pkgs.join(' ')} are missing and apt-get is not available (${probe.code ?? probe.shortMessage}); this is not a Debian-like system`, {
      fix: `install the equivalents of ${pkgs.join(' ')} with your system's package manager`,
    });
  }
  aptUpdated ??= (async () => {
    log('apt-get update');
    const u = await execa('apt-get', ['update'], { env, extendEnv: false, all: true, reject: false });
    if (u.failed) log(`apt-get update failed (continuing with the lists there are):\n${lastLines(String(u.all ?? ''), 5)}`);
  })();
  await aptUpdated;
  log(`apt-get install -y ${pkgs.join(' ')}`);
  const r = await execa('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { env, extendEnv: false, all: true, reject: false });
  if (r.failed) throw new KitError(`apt-get install ${pkgs.join(' ')} failed:\n${lastLines(String(r.all ?? r.message), 15)}`, { fix });
}

/** package → installed version, or '' when not installed. */
async function dpkgStatus(pkgs: string[], env?: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  const r = await execa('dpkg-query', ['-W', '-f=${Package} ${Status} ${Version}\\n', ...pkgs], { env: env ?? process.env, extendEnv: false, reject: false });
  const out = new Map<string, string>(pkgs.map((p) => [p, '']));
  for (const line of String(r.stdout ?? '').split('\n')) {
    const m = /^(\S+?)(?::\S+)? install ok installed (\S+)$/.exec(line.trim());
    if (m && out.has(m[1])) out.set(m[1], m[2]);
  }
  return out;
}

/** libopus/libopusfile/libsoxr headers + pkg-config, for building livekit-sip. */
export function sipBuildDepsStep(opts: AptOptions = {}): SetupStep {
  return aptStep({ name: 'livekit-sip build deps', packages: SIP_BUILD_PACKAGES, ...opts });
}

/** redis-server (Debian): the bus between livekit-server and livekit-sip. */
export function redisStep(opts: AptOptions = {}): SetupStep {
  return aptStep({ name: 'redis-server', packages: ['redis-server'], pinned: 'Debian redis-server', ...opts });
}

/** sipp (Debian `sip-tester`, built with RTP streaming): the SIP caller. */
export function sippStep(opts: AptOptions = {}): SetupStep {
  return aptStep({ name: 'sipp', packages: ['sip-tester'], pinned: 'Debian sip-tester (SIPp 3.6+, RTPSTREAM)', ...opts });
}

export interface LivekitSipStepOptions {
  /** Tag to build (default VERSIONS.livekitSip). */
  version?: string;
  /** Environment for go/pkg-config (tests pass a PATH without go). */
  env?: NodeJS.ProcessEnv;
  /** Where the binary goes (default LIVEKIT_SIP_BIN); its marker is `<bin>.build.json`. */
  bin?: string;
}

/**
 * livekit-sip at the pinned tag in `.kit/bin/livekit-sip`.
 * check: `livekit-sip --version` prints "SIP version <v>" (cmd/livekit-sip/main.go sets the
 * CLI version from version.Version, which the install sets with -ldflags -X) and the
 * marker next to the binary names the same tag.
 * install: pkg-config must find opus/opusfile/soxr; then a throw-away main module under
 * `.kit/` requires `github.com/livekit/sip@<tag>` and `go build`s the command with
 * CGO_ENABLED=1 into that temp dir, then renames it into place (atomic: an interrupted
 * build never leaves a half-written binary). A cold build takes minutes on 2 cores; the Go
 * module and build caches (user defaults) make the next one quick.
 * @throws KitError (exit 2): go missing (names the fix); pkg-config libraries missing
 *   (names the Debian packages); the build failed (with the last 25 lines of its log).
 */
export function livekitSipStep(opts: LivekitSipStepOptions = {}): SetupStep {
  const version = opts.version ?? VERSIONS.livekitSip;
  const bin = opts.bin ?? LIVEKIT_SIP_BIN;
  const marker = `${bin}.build.json`;
  return {
    name: 'livekit-sip',
    pinned: version,
    required: true,
    feature: 'sip',
    fix: 'make setup (builds it from the Go module; needs Go and the Debian packages ' + SIP_BUILD_PACKAGES.join(' ') + ')',
    async check(): Promise<StepStatus> {
      return livekitSipStatus(bin, marker, version);
    },
    async install(log) {
      if ((await livekitSipStatus(bin, marker, version)).ok) return;
      await buildLivekitSip({ version, bin, marker, env: opts.env ?? process.env, log });
    },
  };
}

async function livekitSipStatus(bin: string, marker: string, version: string): Promise<StepStatus> {
  if (!existsSync(bin)) return { ok: false, found: null, detail: `${bin} missing` };
  const r = await execa(bin, ['--version'], { reject: false, timeout: 10_000 });
  if (r.failed) return { ok: false, found: null, detail: `${bin} not runnable: ${r.shortMessage}` };
  const found = /version\s+v?(\S+)/.exec(r.stdout)?.[1] ?? null;
  let built: string | null = null;
  try {
    built = (JSON.parse(readFileSync(marker, 'utf8')) as { version?: string }).version ?? null;
  } catch { /* no marker: built by hand, not by the kit */ }
  const ok = found !== null && `v${found}` === version && built === version;
  return { ok, found, detail: ok ? bin : `${bin} reports ${found ?? '?'} (marker ${built ?? 'missing'}), want ${version}` };
}

async function buildLivekitSip(o: { version: string; bin: string; marker: string; env: NodeJS.ProcessEnv; log: (l: string) => void }): Promise<void> {
  const goVersion = await execa('go', ['version'], { env: o.env, extendEnv: false, reject: false });
  if (goVersion.failed) {
    throw new KitError(`cannot build livekit-sip: \`go\` is not on PATH (${goVersion.code ?? goVersion.shortMessage})`, { fix: GO_FIX });
  }
  const pc = await execa('pkg-config', ['--exists', '--print-errors', ...SIP_PKGCONFIG], { env: o.env, extendEnv: false, all: true, reject: false });
  if (pc.failed) {
    throw new KitError(`cannot build livekit-sip: pkg-config does not find ${SIP_PKGCONFIG.join(', ')} (its cgo code links them):\n${lastLines(String(pc.all ?? pc.shortMessage), 5)}`, {
      fix: `apt-get install -y ${SIP_BUILD_PACKAGES.join(' ')} (as root), or run make setup`,
    });
  }
  o.log(`${goVersion.stdout.trim()}; building ${LIVEKIT_SIP_PKG}@${o.version} with cgo (a cold build takes several minutes on 2 cores)`);
  mkdirSync(BIN_DIR, { recursive: true });
  mkdirSync(KIT_DIR, { recursive: true });
  const tmp = mkdtempSync(join(KIT_DIR, 'sip-build-'));
  try {
    const goMinor = /go1\.(\d+)/.exec(goVersion.stdout)?.[1] ?? '26';
    writeFileSync(join(tmp, 'go.mod'), `module closekit.local/livekit-sip-build\n\ngo 1.${goMinor}\n\nrequire ${LIVEKIT_SIP_MODULE} ${o.version}\n`);
    const out = join(tmp, 'livekit-sip');
    const t0 = Date.now();
    const r = await execa('go', ['build', '-trimpath', '-ldflags', `-X ${VERSION_SYMBOL}=${o.version.replace(/^v/, '')}`, '-o', out, LIVEKIT_SIP_PKG], {
      // -mod=mod lets the build fill go.sum of the throw-away module (checked against the
      // checksum database as usual).
      env: { ...o.env, CGO_ENABLED: '1', GOFLAGS: '-mod=mod', GOWORK: 'off' },
      extendEnv: false,
      cwd: tmp,
      all: true,
      reject: false,
    });
    if (r.failed) {
      throw new KitError(`building ${LIVEKIT_SIP_PKG}@${o.version} failed (exit ${r.exitCode ?? r.shortMessage}):\n${lastLines(String(r.all ?? ''), 25)}`, {
        fix: `check that the Go module proxy serves ${LIVEKIT_SIP_MODULE}@${o.version} (GOPROXY, \`go env GOPROXY\`), the Go version (livekit/sip go.mod names the minimum) and the C libraries (${SIP_BUILD_PACKAGES.join(' ')})`,
      });
    }
    renameSync(out, o.bin);
    writeFileSync(o.marker, JSON.stringify({ module: LIVEKIT_SIP_MODULE, version: o.version, go: goVersion.stdout.trim(), buildMs: Date.now() - t0, builtAt: new Date().toISOString() }, null, 2) + '\n');
    o.log(`installed ${o.bin} (${Math.round((Date.now() - t0) / 1000)} s)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Every step the SIP path contributes, for ts/setup.ts (feature 'sip'). */
export function sipSteps(): SetupStep[] {
  return [sipBuildDepsStep(), redisStep(), sippStep(), livekitSipStep()];
}

function lastLines(s: string, n: number): string {
  return s.trimEnd().split('\n').slice(-n).join('\n');
}
