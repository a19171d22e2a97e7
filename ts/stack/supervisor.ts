/**
 * Supervisor (internals.md, "Supervisor"): owns every child process of a run. Each child
 * runs inside the run's namespace, logs to `<logsDir>/<name>.log`, and is stopped at
 * teardown; SIGINT/SIGTERM on the kit process tear everything down and exit 130/143.
 */
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readFileSync, type WriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa, type Options, type ResultPromise } from 'execa';
import { KitError } from '../errors.js';
import type { RunNetwork } from './netns.js';

/** setpriv (util-linux) arms PR_SET_PDEATHSIG, so a child dies with us even on SIGKILL. */
export const SETPRIV = '/usr/bin/setpriv';

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  stdin?: 'pipe' | 'ignore';
  /** 'log' (default): stdout goes to the log file. 'pipe': readable on `proc.stdout` and copied to the log. */
  stdout?: 'log' | 'pipe';
  /**
   * For programs that treat a second stop signal as "force": stop() sends the signal again
   * after this many ms (livekit-server: cmd/server/main.go, the 2nd SIGINT/SIGTERM skips
   * waiting for participants to leave).
   */
  repeatSignalAfterMs?: number;
  /**
   * false: start it in the root namespace instead (a container engine CLI: `ip netns exec`
   * remounts /sys, so runc finds no cgroup mount; the container joins the run's namespace
   * through `--network ns:/run/netns/<name>` instead).
   */
  inNamespace?: boolean;
}

export interface Child {
  name: string;
  pid: number;
  /** The execa subprocess (stdin is writable when spawned with stdin 'pipe'). */
  proc: ResultPromise;
  logFile: string;
  /** The signal that ended it (e.g. `SIGKILL`), once `exited` resolved; null when it exited with a code. */
  exitSignal?: string | null;
  /** Resolves with the exit code, or null when a signal ended it. Never rejects. */
  exited: Promise<number | null>;
  /** True once `exited` has resolved. */
  done: boolean;
  /** See SpawnOptions.repeatSignalAfterMs. */
  repeatSignalAfterMs?: number;
}

/**
 * One per run. Construct it right after `createRunNetwork`; it installs SIGINT/SIGTERM
 * handlers that call `teardown()` and exit 130/143, and removes them at teardown.
 */
export class Supervisor {
  readonly runId: string;
  readonly logsDir: string;
  /** Where per-run files (configs) go; defaults to the parent of `logsDir`. */
  readonly runDir: string;
  readonly net: RunNetwork;
  private readonly children = new Map<string, Child>();
  private readonly cleanups: Array<() => Promise<unknown>> = [];
  private tearingDown: Promise<void> | null = null;
  private readonly onSignal = (sig: NodeJS.Signals) => {
    const code = sig === 'SIGINT' ? 130 : 143;
    void this.teardown().finally(() => process.exit(code));
  };

  constructor(opts: { runId: string; logsDir: string; net: RunNetwork; runDir?: string; handleSignals?: boolean }) {
    this.runId = opts.runId;
    this.logsDir = opts.logsDir;
    this.runDir = opts.runDir ?? dirname(opts.logsDir);
    this.net = opts.net;
    mkdirSync(this.logsDir, { recursive: true });
    mkdirSync(this.runDir, { recursive: true });
    if (opts.handleSignals !== false) {
      process.on('SIGINT', this.onSignal);
      process.on('SIGTERM', this.onSignal);
    }
  }

  /**
   * Starts `cmd args` inside the run's namespace (`net.wrap`), under `setpriv --pdeathsig
   * KILL` when available. stdout+stderr append to `<logsDir>/<name>.log`.
   * @throws KitError when `name` is already running or after teardown began.
   */
  spawn(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Child {
    if (this.tearingDown) throw new KitError(`cannot start ${name}: run ${this.runId} is tearing down`);
    const prev = this.children.get(name);
    if (prev && !prev.done) throw new KitError(`a child named ${name} is already running (pid ${prev.pid})`, { fix: 'stop it first or pick another name' });
    const logFile = join(this.logsDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    let [file, argv] = opts.inNamespace === false ? [cmd, args] : this.net.wrap(cmd, args);
    if (existsSync(SETPRIV)) [file, argv] = [SETPRIV, ['--pdeathsig', 'KILL', '--', file, ...argv]];
    const options: Options = {
      cwd: opts.cwd,
      env: opts.env,
      stdin: opts.stdin ?? 'ignore',
      // A raw O_APPEND fd rather than execa's {file}: the child then writes the log itself,
      // so its output is kept even when this process dies first.
      stdout: (opts.stdout === 'pipe' ? 'pipe' : fd) as Options['stdout'],
      stderr: fd as Options['stderr'],
      reject: false,
      buffer: false,
      forceKillAfterDelay: false,
    };
    const proc: ResultPromise = execa(file, argv, options);
    let tee: WriteStream | null = null;
    if (opts.stdout === 'pipe' && proc.stdout) {
      tee = createWriteStream(logFile, { flags: 'a' });
      proc.stdout.on('data', (b: Buffer) => tee!.write(b));
    }
    // The child holds its own copy of the fd from here on.
    closeSync(fd);
    if (!proc.pid) {
      tee?.end();
      throw new KitError(`could not start ${name} (${cmd})`, { fix: `check that ${cmd} exists and is executable` });
    }
    const child: Child = {
      name,
      pid: proc.pid,
      proc,
      logFile,
      done: false,
      repeatSignalAfterMs: opts.repeatSignalAfterMs,
      exited: proc.then(
        (r) => {
          child.exitSignal = (r as { signal?: string }).signal ?? null;
          return r.exitCode ?? null;
        },
        () => null,
      ).then((code) => {
        child.done = true;
        tee?.end();
        return code;
      }),
    };
    this.children.set(name, child);
    return child;
  }

  get(name: string): Child | undefined {
    return this.children.get(name);
  }

  /** Children that have not exited yet, in start order. */
  running(): Child[] {
    return [...this.children.values()].filter((c) => !c.done);
  }

  /**
   * Sends `signal` (default SIGTERM) to `name`, waits up to `graceMs` (default 5000 ms),
   * then SIGKILLs and waits for the exit. No-op when it already exited or never started.
   */
  async stop(name: string, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    const c = this.children.get(name);
    if (!c || c.done) return;
    kill(c.pid, signal);
    const again = c.repeatSignalAfterMs;
    if (again !== undefined && again < graceMs) {
      if (await within(c.exited, again)) return;
      kill(c.pid, signal);
      graceMs -= again;
    }
    if (await within(c.exited, graceMs)) return;
    kill(c.pid, 'SIGKILL');
    await within(c.exited, 5000);
  }

  /**
   * Stops every child (SIGTERM, 3 s grace, SIGKILL), then destroys the run network (which
   * kills anything else left in the namespace) and removes the signal handlers. Idempotent:
   * later calls return the same promise.
   */
  teardown(): Promise<void> {
    this.tearingDown ??= (async () => {
      await Promise.all([...this.children.keys()].map((n) => this.stop(n, 'SIGTERM', 3000)));
      // What a child leaves outside its process (a container's record), after the children stop.
      for (const c of this.cleanups.splice(0)) await c().catch(() => {});
      await this.net.destroy();
      process.off('SIGINT', this.onSignal);
      process.off('SIGTERM', this.onSignal);
    })();
    return this.tearingDown;
  }

  /** Runs `fn` at teardown, after every child stopped and before the namespace goes (errors ignored). */
  onTeardown(fn: () => Promise<unknown>): void {
    this.cleanups.push(fn);
  }

  /** Last `lines` lines of a child's log, for error messages. */
  logTail(name: string, lines = 30): string {
    return tail(join(this.logsDir, `${name}.log`), lines);
  }
}

/** Last `lines` lines of `file` ('' when unreadable). */
export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig); } catch { /* already gone */ }
}

/** true when `p` settled within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => { t = setTimeout(() => r(false), ms); });
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(t);
  }
}
