/**
 * Setup steps of the stack folder (see ts/steps.ts): the livekit-server binary (built from
 * its Go module at the pinned tag), iproute2 (`ip`, for the run namespace) and setpriv
 * (util-linux, arms the parent-death signal on every child). Redis and livekit-sip are
 * the SIP folder's steps.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { BIN_DIR, KIT_DIR, LIVEKIT_SERVER_BIN, VERSIONS } from '../config.js';
import { KitError } from '../errors.js';
import type { SetupStep, StepStatus } from '../steps.js';
import { SETPRIV } from './supervisor.js';

/** Go package whose `main` is livekit-server (`go install` names the binary `server`). */
export const LIVEKIT_SERVER_PKG = 'github.com/livekit/livekit-server/cmd/server';
const GO_FIX = 'install Go 1.24 or newer (https://go.dev/doc/install) and put its bin directory on PATH, e.g. export PATH=$PATH:/usr/local/go/bin';

/**
 * livekit-server at VERSIONS.livekitServer in `.kit/bin/livekit-server`.
 * check: `livekit-server --version` prints "livekit-server version 1.13.5" (upstream
 * cmd/server/main.go sets the CLI version from version.Version).
 * install: `go install <pkg>@<tag>` with GOBIN a fresh temp dir under `.kit`, then an
 * atomic rename into `.kit/bin`, so a failed or interrupted build never leaves a broken
 * binary. GOMODCACHE/GOCACHE are left to the user's defaults, so a second clone reuses them.
 * `opts.env` replaces the environment for the Go lookup and build (tests pass a PATH without go).
 */
export function livekitServerStep(opts: { env?: NodeJS.ProcessEnv } = {}): SetupStep {
  const pinned = VERSIONS.livekitServer;
  return {
    name: 'livekit-server',
    pinned,
    required: true,
    feature: 'core',
    fix: 'make setup (builds it with go install; needs Go)',
    async check(): Promise<StepStatus> {
      const r = await execa(LIVEKIT_SERVER_BIN, ['--version'], { reject: false });
      if (r.failed) return { ok: false, found: null, detail: `${LIVEKIT_SERVER_BIN} missing or not runnable` };
      const found = /version\s+v?(\S+)/.exec(r.stdout)?.[1] ?? null;
      const ok = found !== null && `v${found}` === pinned;
      return { ok, found, detail: ok ? LIVEKIT_SERVER_BIN : `${LIVEKIT_SERVER_BIN} is ${found}, want ${pinned}` };
    },
    async install(log) {
      const env = opts.env ?? process.env;
      const goVersion = await execa('go', ['version'], { env, extendEnv: false, reject: false });
      if (goVersion.failed) {
        throw new KitError(`cannot build livekit-server: \`go\` is not on PATH (${goVersion.code ?? goVersion.shortMessage})`, { fix: GO_FIX });
      }
      log(`${goVersion.stdout.trim()}; go install ${LIVEKIT_SERVER_PKG}@${pinned} (a cold build takes a few minutes)`);
      mkdirSync(BIN_DIR, { recursive: true });
      const tmp = mkdtempSync(join(KIT_DIR, 'go-build-'));
      try {
        const r = await execa('go', ['install', `${LIVEKIT_SERVER_PKG}@${pinned}`], {
          env: { ...env, GOBIN: tmp, GOFLAGS: '' },
          extendEnv: false,
          cwd: tmp,
          all: true,
          reject: false,
        });
        if (r.failed) {
          const t = String(r.all ?? '').trimEnd().split('\n').slice(-20).join('\n');
          throw new KitError(`go install ${LIVEKIT_SERVER_PKG}@${pinned} failed:\n${t}`, {
            fix: 'check network access to the Go module proxy and the Go version (go.mod of livekit-server names the minimum)',
          });
        }
        renameSync(join(tmp, 'server'), LIVEKIT_SERVER_BIN);
        log(`installed ${LIVEKIT_SERVER_BIN}`);
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
    },
  };
}

/** iproute2's `ip`: creates the run namespace and veth pair (netns.ts). */
export function iprouteStep(): SetupStep {
  return systemToolStep({
    name: 'iproute2',
    pinned: 'ip with netns support',
    pkg: 'iproute2',
    probe: ['ip', ['-V']],
    parse: (out) => /iproute2-(\S+)/.exec(out)?.[1] ?? out.trim(),
  });
}

/** util-linux's setpriv: `--pdeathsig KILL` on every supervised child (supervisor.ts). */
export function setprivStep(): SetupStep {
  return systemToolStep({
    name: 'setpriv',
    pinned: 'util-linux >= 2.33 (--pdeathsig)',
    pkg: 'util-linux',
    probe: [SETPRIV, ['--version']],
    parse: (out) => /util-linux\s+(\S+)/.exec(out)?.[1] ?? out.trim(),
  });
}

/** Every step this folder contributes, for ts/setup.ts. */
export function stackSteps(): SetupStep[] {
  return [iprouteStep(), setprivStep(), livekitServerStep()];
}

function systemToolStep(o: { name: string; pinned: string; pkg: string; probe: [string, string[]]; parse: (out: string) => string }): SetupStep {
  const fix = `apt-get install ${o.pkg} (as root)`;
  return {
    name: o.name,
    pinned: o.pinned,
    required: true,
    feature: 'core',
    fix,
    async check() {
      const r = await execa(o.probe[0], o.probe[1], { reject: false });
      if (r.failed) return { ok: false, found: null, detail: `${o.probe[0]} not found` };
      return { ok: true, found: o.parse(r.stdout) };
    },
    async install(log) {
      if (process.getuid?.() !== 0) throw new KitError(`${o.name} is missing and the kit is not root`, { fix: `sudo ${fix}` });
      log(`apt-get install -y ${o.pkg}`);
      let r = await execa('apt-get', ['install', '-y', '--no-install-recommends', o.pkg], { all: true, reject: false, env: { DEBIAN_FRONTEND: 'noninteractive' } });
      if (r.failed) {
        // A fresh machine often has no package lists yet.
        await execa('apt-get', ['update'], { reject: false });
        r = await execa('apt-get', ['install', '-y', '--no-install-recommends', o.pkg], { all: true, reject: false, env: { DEBIAN_FRONTEND: 'noninteractive' } });
      }
      if (r.failed) {
        throw new KitError(`apt-get install ${o.pkg} failed:\n${String(r.all ?? r.message).split('\n').slice(-10).join('\n')}`, { fix });
      }
    },
  };
}
