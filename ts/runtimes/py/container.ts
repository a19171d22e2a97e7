/**
 * The Python worker in a container (`--py-worker container`): the same worker, scenario,
 * environment and events file as the venv worker, run by podman (or docker) inside the
 * run's own network namespace.
 *
 * - Engine config: Debian's podman with runc (crun fails on setrlimit on these machines),
 *   `cgroupfs`, a file events logger and no default ulimits, from a kit-owned
 *   containers.conf (`CONTAINERS_CONF`, `.kit/podman/containers.conf`); the machine's own
 *   config is never touched.
 * - Images, built locally (there is no registry here): a Debian bookworm base from
 *   `debootstrap --variant=minbase` + `podman import` (or `BASE_IMAGE`, e.g.
 *   `python:3.11-slim`, where a registry is reachable), then docker/python-worker.Dockerfile
 *   on a context of only what it copies. Tags carry a content hash of the Dockerfile, the
 *   shim, the constraints, the version and the base image, so an image is rebuilt only when
 *   one changes. The patched image is a second tag `FROM` the unpatched one with the files
 *   the patches changed copied from the patched venv (the same patch files, applied once).
 * - Run: `podman run --rm --network ns:/run/netns/<ns> --pid host` (host pids: the kit's
 *   SIGUSR2 reaches the job process for the parked capture), the run folder mounted at the
 *   same path, label `closekit`; removed at teardown, and by the reaper's kill of every pid
 *   in the namespace if the kit dies.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { execa } from 'execa';
import { KIT_DIR, ROOT } from '../../config.js';
import { KitError } from '../../errors.js';
import { checkWorkerOptions, type WorkerChild, type WorkerSpawner } from '../worker.js';
import { PY_SHIM_DIR } from './install.js';
import { pyWorkerEnv, PY_WORKER_CHILD, type PyWorkerOptions } from './start.js';

export const DOCKERFILE = join(ROOT, 'docker', 'python-worker.Dockerfile');
/** The locally built base (debootstrap), used unless BASE_IMAGE names another. */
export const LOCAL_BASE = 'localhost/closekit-base:bookworm';
export const IMAGE_REPO = 'localhost/closekit-py-worker';
/** Where the image keeps the shim and its venv (docker/python-worker.Dockerfile). */
const IMAGE_SHIM = '/closekit/python-shim';
const IMAGE_VENV = '/opt/closekit';
const DEBIAN_MIRROR = process.env.CLOSEKIT_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

const CONTAINERS_CONF = `# closekit's podman config (CONTAINERS_CONF): runc, cgroupfs, a file events log, no default ulimits.
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`;

/**
 * The container engine the kit runs the worker with: podman (its `--network ns:<path>`
 * joins the run's namespace; docker has no such mode). The Dockerfile itself also builds
 * with `docker build` for users; the kit does not drive docker.
 */
export async function containerEngine(): Promise<{ bin: string; version: string } | null> {
  const r = await execa('podman', ['--version'], { reject: false });
  return r.exitCode === 0 ? { bin: 'podman', version: r.stdout.trim() } : null;
}

/** The environment every engine call gets (podman: the kit's containers.conf). */
export function engineEnv(): Record<string, string> {
  const conf = join(KIT_DIR, 'podman', 'containers.conf');
  if (!existsSync(conf) || readFileSync(conf, 'utf8') !== CONTAINERS_CONF) {
    mkdirSync(dirname(conf), { recursive: true });
    writeFileSync(conf, CONTAINERS_CONF);
  }
  return { ...(process.env as Record<string, string>), CONTAINERS_CONF: conf };
}

async function engine(): Promise<string> {
  const e = await containerEngine();
  if (!e) throw new KitError('no container engine: podman does not run here', { fix: 'apt-get install -y podman runc debootstrap (kit setup --only container), or use --py-worker venv' });
  return e.bin;
}

async function run(bin: string, args: string[], what: string, opts: { input?: string; cwd?: string } = {}): Promise<string> {
  const r = await execa(bin, args, { reject: false, all: true, env: engineEnv(), cwd: opts.cwd, input: opts.input });
  if (r.exitCode !== 0) throw new KitError(`${what} failed:\n${(r.all ?? '').trim().split('\n').slice(-12).join('\n')}`, { fix: 'fix the cause above; nothing half-built was tagged' });
  return r.stdout.trim();
}

async function imageId(bin: string, tag: string): Promise<string | null> {
  const r = await execa(bin, ['image', 'inspect', '--format', '{{.Id}}', tag], { reject: false, env: engineEnv() });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

/**
 * The base image: `BASE_IMAGE` when set (it must exist locally or be pullable), else the
 * local Debian bookworm base, made once with debootstrap (about 30 s) and `podman import`.
 * @returns the image reference and its id.
 * @throws KitError (exit 2) when debootstrap or the import fails (the temp root is removed).
 */
export async function ensureBaseImage(log: (l: string) => void = () => {}): Promise<{ ref: string; id: string }> {
  const bin = await engine();
  const ref = process.env.BASE_IMAGE || LOCAL_BASE;
  const have = await imageId(bin, ref);
  if (have) return { ref, id: have };
  if (ref !== LOCAL_BASE) {
    await run(bin, ['pull', ref], `pulling BASE_IMAGE ${ref}`);
    return { ref, id: (await imageId(bin, ref))! };
  }
  const root = join(KIT_DIR, 'podman', `base-${process.pid}`);
  rmSync(root, { recursive: true, force: true });
  try {
    log(`debootstrap --variant=minbase bookworm (the container base; about 30 s)`);
    const r = await execa('debootstrap', ['--variant=minbase', '--include=python3,python3-venv,ca-certificates', 'bookworm', root, DEBIAN_MIRROR], { reject: false, all: true });
    if (r.exitCode !== 0) throw new KitError(`debootstrap failed:\n${(r.all ?? '').trim().split('\n').slice(-6).join('\n')}`, { fix: 'apt-get install -y debootstrap, and check that the Debian mirror is reachable (CLOSEKIT_DEBIAN_MIRROR)' });
    log(`podman import -> ${LOCAL_BASE}`);
    const tar = execa('tar', ['-C', root, '-c', '.'], { buffer: false, encoding: 'buffer' });
    const imp = execa(bin, ['import', '-', LOCAL_BASE], { reject: false, all: true, env: engineEnv() });
    tar.stdout!.pipe(imp.stdin!);
    const [, done] = await Promise.all([tar, imp]);
    if (done.exitCode !== 0) throw new KitError(`${bin} import of the base failed:\n${done.all}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return { ref, id: (await imageId(bin, LOCAL_BASE))! };
}

function hashTree(h: ReturnType<typeof createHash>, dir: string): void {
  for (const name of readdirSync(dir).sort()) {
    if (name === '__pycache__' || name === '.pytest_cache' || name === '.ruff_cache') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) hashTree(h, p);
    else h.update(relative(ROOT, p)).update(readFileSync(p));
  }
}

export interface WorkerImage {
  /** e.g. `localhost/closekit-py-worker:1.8.9-3f2a9c1e0b7d` (`-patched-...` for the patched one). */
  image: string;
  imageId: string;
  base: string;
}

/**
 * The worker image for livekit-agents `version` (built when its content hash is new), and,
 * with `patched` (the patched venv's dir and the site-packages files its patches changed),
 * the patched tag on top of it.
 * @throws KitError (exit 2) when the engine is missing or a build fails.
 */
/** The unpatched image's tag for `version` as today's files hash it, and whether it exists (reads only; needs the base). */
export async function workerImageTag(version: string): Promise<{ tag: string; exists: boolean }> {
  const bin = await engine();
  const ref = process.env.BASE_IMAGE || LOCAL_BASE;
  const baseId = await imageId(bin, ref);
  if (!baseId) throw new KitError(`no base image ${ref}`, { fix: 'kit setup --only container' });
  const tag = `${IMAGE_REPO}:${version}-${contentHash(version, baseId)}`;
  return { tag, exists: !!(await imageId(bin, tag)) };
}

function contentHash(version: string, baseId: string, extraPins: string[] = []): string {
  const h = createHash('sha256').update(readFileSync(DOCKERFILE)).update(version).update(baseId).update(extraPins.join(' '));
  hashTree(h, PY_SHIM_DIR);
  return h.digest('hex').slice(0, 12);
}

export async function ensureWorkerImage(version: string, opts: { patched?: { venvDir: string; sitePackages: string; changedFiles: string[] }; log?: (l: string) => void; /** Pins the venv needed as known fix-ups (UNDECLARED_DEPS), installed in the image too. */ extraPins?: string[] } = {}): Promise<WorkerImage> {
  const log = opts.log ?? (() => {});
  const bin = await engine();
  const base = await ensureBaseImage(log);
  const extra = [...(opts.extraPins ?? [])].sort();
  const tag = `${IMAGE_REPO}:${version}-${contentHash(version, base.id, extra)}`;
  if (!(await imageId(bin, tag))) {
    const ctx = join(KIT_DIR, 'podman', `ctx-${process.pid}`);
    rmSync(ctx, { recursive: true, force: true });
    try {
      // Only what the Dockerfile copies: the build context of the whole repo would be .kit/ too.
      mkdirSync(join(ctx, 'docker'), { recursive: true });
      cpSync(DOCKERFILE, join(ctx, 'docker', 'python-worker.Dockerfile'));
      cpSync(PY_SHIM_DIR, join(ctx, 'python-shim'), { recursive: true, filter: (s) => !/(__pycache__|\.pytest_cache|\.ruff_cache)/.test(s) });
      log(`${bin} build ${tag} (FROM ${base.ref}; livekit-agents ${version})`);
      // The host's trust store, for pip behind a TLS-intercepting proxy (the Dockerfile uses it when mounted).
      const bundle = process.env.PIP_CERT || process.env.SSL_CERT_FILE || '/etc/ssl/certs/ca-certificates.crt';
      const caMount = existsSync(bundle) ? ['-v', `${bundle}:/etc/ssl/host-certs/ca-certificates.crt:ro`] : [];
      await run(bin, ['build', '--network', 'host', ...caMount, '-f', 'docker/python-worker.Dockerfile', '--build-arg', `BASE_IMAGE=${base.ref}`, '--build-arg', `AGENTS_VERSION=${version}`, '--build-arg', `EXTRA_PINS=${extra.join(' ')}`, '--label', 'closekit=1', '-t', tag, '.'], `${bin} build of ${tag}`, { cwd: ctx });
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  }
  if (!opts.patched) return { image: tag, imageId: (await imageId(bin, tag))!, base: base.ref };
  const p = opts.patched;
  const ph = createHash('sha256').update(tag);
  for (const f of [...p.changedFiles].sort()) ph.update(f).update(readFileSync(join(p.sitePackages, f)));
  const ptag = `${IMAGE_REPO}:${version}-patched-${ph.digest('hex').slice(0, 12)}`;
  if (!(await imageId(bin, ptag))) {
    const ctx = join(KIT_DIR, 'podman', `ctx-p-${process.pid}`);
    rmSync(ctx, { recursive: true, force: true });
    try {
      const py = await run(bin, ['run', '--rm', '--entrypoint', `${IMAGE_VENV}/bin/python`, tag, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], 'reading the image Python version');
      const site = `${IMAGE_VENV}/lib/python${py}/site-packages`;
      for (const f of p.changedFiles) {
        mkdirSync(dirname(join(ctx, 'site', f)), { recursive: true });
        cpSync(join(p.sitePackages, f), join(ctx, 'site', f));
      }
      writeFileSync(join(ctx, 'Dockerfile'), `FROM ${tag}\nCOPY site/ ${site}/\nLABEL closekit=1 closekit.patched=1\n`);
      log(`${bin} build ${ptag} (the patched files of ${p.venvDir})`);
      await run(bin, ['build', '-f', 'Dockerfile', '-t', ptag, '.'], `${bin} build of ${ptag}`, { cwd: ctx });
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  }
  return { image: ptag, imageId: (await imageId(bin, ptag))!, base: base.ref };
}

/**
 * Starts the Python worker in `image` as supervisor child `py-worker`: `podman run` inside
 * the run's namespace, with pyWorkerEnv (PYTHONPATH the image's shim), the run folder of the
 * events and scenario files mounted at the same path. Registers the container's removal at
 * teardown.
 * @throws KitError (exit 2) on bad options or when the run has no namespace to join.
 */
export function startPyContainerWorker(sup: WorkerSpawner, o: PyWorkerOptions & { image: string; engine?: string }): WorkerChild {
  checkWorkerOptions(o);
  const ns = sup.net?.name;
  if (!ns) throw new KitError('the container worker needs the run network namespace (this run fell back to host networking)', { fix: 'run as root, or use --py-worker venv' });
  const bin = o.engine ?? 'podman';
  const name = `${ns}-py-worker`;
  const env = { ...pyWorkerEnv(o), PYTHONPATH: IMAGE_SHIM, VIRTUAL_ENV: '' };
  const mounts = [...new Set([dirname(o.eventsFile), dirname(o.scenarioFile)])].flatMap((d) => ['-v', `${d}:${d}`]);
  const args = ['run', '--rm', '--name', name, '--label', 'closekit=1', '--network', `ns:/run/netns/${ns}`, '--pid', 'host', '--init=false', ...mounts, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), o.image];
  sup.onTeardown?.(() => execa(bin, ['rm', '-f', '--ignore', name], { reject: false, env: engineEnv() }));
  // The engine CLI in the root namespace (see SpawnOptions.inNamespace); the container joins the run's.
  return sup.spawn(o.name ?? PY_WORKER_CHILD, bin, args, { env: engineEnv(), cwd: ROOT, stdin: 'ignore', inNamespace: false });
}

/**
 * The image for a venv install: the venv's livekit-agents version, and for a patched or
 * candidate venv the files it changed (its patch marker's `changedFiles`, else the whole
 * `livekit/agents` package) on top.
 */
export async function imageForVenv(python: string, variant: 'unpatched' | 'patched', log?: (l: string) => void): Promise<WorkerImage> {
  const venv = join(python, '..', '..');
  const marker = JSON.parse(readFileSync(join(venv, '.closekit-complete.json'), 'utf8')) as { version: string; sitePackages: string; fixups?: string[] };
  // `installed httpx==0.28.1: ...` -> httpx==0.28.1 (the same known fix-ups the venv needed)
  const extraPins = (marker.fixups ?? []).map((f) => /^installed (\S+):/.exec(f)?.[1]).filter((x): x is string => !!x);
  const sitePackages = join(venv, relative(join(marker.sitePackages, '..', '..', '..'), marker.sitePackages));
  const version = marker.version;
  if (variant === 'unpatched') return ensureWorkerImage(version, { log, extraPins });
  const pm = join(venv, 'closekit-patched.json');
  const changedFiles = existsSync(pm) ? ((JSON.parse(readFileSync(pm, 'utf8')) as { changedFiles?: string[] }).changedFiles ?? []) : [];
  if (!changedFiles.length) {
    // A checkout or git candidate is a whole package with its own dependencies: copying its
    // files over the release's image would not be that candidate.
    throw new KitError(`--py-worker container runs patch-file candidates and closekit's patches; ${venv} is a checkout build`, { fix: 'use --py-worker venv for a checkout or git candidate' });
  }
  return ensureWorkerImage(version, { patched: { venvDir: venv, sitePackages, changedFiles }, log, extraPins });
}
