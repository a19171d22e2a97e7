/**
 * kit <doctor|setup|repro|verify|report|where|bench>: the closekit command line.
 * Exit codes (README): 0 every run matched its expectation, 1 one did not,
 * 2 bad input or a component that could not start (reason on stderr).
 */
import { Command, InvalidArgumentError } from 'commander';
import { VERSIONS } from './config.js';
import { RUNTIME_IDS, type Runtime } from './contract/results.js';
import { KitError } from './errors.js';

function list(allowed?: readonly string[]) {
  return (value: string, prev: string[] = []) => {
    const items = value.split(',').map((s) => s.trim()).filter(Boolean);
    for (const i of items) if (allowed && !allowed.includes(i)) throw new InvalidArgumentError(`"${i}" is not one of: ${allowed.join(', ')}`);
    return [...prev, ...items];
  };
}

const program = new Command('kit')
  .description('closekit: reproduce and fix the LiveKit Agents forced-close hang in agents-js and livekit-agents')
  .showHelpAfterError()
  .exitOverride((err) => {
    // commander's own usage errors are bad input: exit 2, per the contract.
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

program
  .command('doctor')
  .description('every component: pinned and found version, and what to run when one is missing')
  .option('--json', 'print JSON')
  .action(async (o: { json?: boolean }) => {
    const { doctor } = await import('./setup.js');
    const rows = await doctor();
    if (o.json) console.log(JSON.stringify(rows, null, 2));
    else {
      const head = ['component', 'pinned', 'found', 'status', 'fix'];
      const body = rows.map((r) => [r.name, r.pinned, r.found ?? '-', r.ok ? 'ok' : r.required ? 'MISSING' : 'missing (optional)', r.ok ? '' : r.fix]);
      const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
      for (const r of [head, ...body]) console.log(r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd());
    }
    if (rows.some((r) => r.required && !r.ok)) process.exitCode = 2;
  });

program
  .command('setup')
  .description('install everything the stack needs into .kit/ (idempotent)')
  .option('--only <features>', 'core,sip,py,report,container', list(['core', 'sip', 'py', 'report', 'container']))
  .option('--patched', 'also build the patched installs of the pinned versions from patches/')
  .action(async (o: { only?: Array<'core' | 'sip' | 'py' | 'report' | 'container'>; patched?: boolean }) => {
    const { setup } = await import('./setup.js');
    await setup({ features: o.only });
    if (o.patched) {
      const { RUNTIMES } = await import('./matrix/runtimes.js');
      for (const id of RUNTIME_IDS) {
        const inst = await RUNTIMES[id].patch(RUNTIMES[id].defaultVersion);
        console.error(`patched ${RUNTIMES[id].label} ${inst.version}: ${RUNTIMES[id].where(inst.version, 'patched')}`);
      }
    }
  });

interface MatrixCli {
  scenario?: string[];
  runtime?: Runtime[];
  jsVersion: string;
  pyVersion: string;
  caller?: string[];
  watchdogMs?: number;
  providers?: 'inference' | 'deepgram';
  json?: boolean;
  jobs?: number;
  shard?: { index: number; total: number };
  pyWorker?: 'venv' | 'container';
}

/** The per-runtime version options, keyed by runtime id. */
const versionsOf = (o: { jsVersion: string; pyVersion: string }): Record<Runtime, string> => ({ js: o.jsVersion, py: o.pyVersion });

function matrixOptions(cmd: Command): Command {
  return cmd
    .option('-s, --scenario <names>', 'scenarios to run (comma-separated; default: all)', list())
    .option('-r, --runtime <runtimes>', 'js,py (default: both)', list(RUNTIME_IDS))
    .option('--js-version <version>', '@livekit/agents version', VERSIONS.agentsJs)
    .option('--py-version <version>', 'livekit-agents version', VERSIONS.agentsPy)
    .option('--caller <kinds>', 'only scenarios with these caller kinds: webrtc,sip-inbound,sip-outbound', list(['webrtc', 'sip-inbound', 'sip-outbound', 'sip']))
    .option('--json', 'print the summary (run id, per run verdict / expected / matched, exit code) as JSON on stdout; progress stays on stderr')
    .option('--py-worker <how>', 'venv (default) or container: the Python worker in a podman/docker image built by the kit', (v) => {
      if (v !== 'venv' && v !== 'container') throw new InvalidArgumentError('venv or container');
      return v;
    })
    .option('-j, --jobs <n>', 'runs at once, each on its own stack in its own namespace (default 1)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 16) throw new InvalidArgumentError('a whole number from 1 to 16');
      return n;
    })
    .option('--shard <i/n>', 'run only slice i of n of the matrix (deterministic); `kit merge` combines the shards', (v) => {
      const m = /^(\d+)\/(\d+)$/.exec(v);
      if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new InvalidArgumentError('i/n with 1 <= i <= n, e.g. 1/3');
      return { index: Number(m[1]), total: Number(m[2]) };
    })
    .option('--watchdog-ms <ms>', 'override every scenario watchdog (ms)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('a positive number of milliseconds');
      return n;
    })
    .option('--providers <path>', "run every scenario's STT/TTS on this path instead of its own `providers`: inference or deepgram (expectations stay the scenario's)", (v) => {
      if (v !== 'inference' && v !== 'deepgram') throw new InvalidArgumentError('inference or deepgram');
      return v;
    });
}

matrixOptions(program.command('repro'))
  .description('run the scenarios on the unpatched runtimes and show each hang with evidence')
  .action(async (o: MatrixCli) => {
    const { runMatrix } = await import('./matrix/index.js');
    process.exitCode = await runMatrix({ ...o, versions: versionsOf(o), workers: { py: o.pyWorker === 'container' ? 'container' : 'host' }, variants: ['unpatched'], command: 'repro' });
  });

matrixOptions(program.command('verify'))
  .description('build the candidate fix (default: patches/), run every scenario unpatched and patched, then upstream\'s tests side by side')
  .option('--no-upstream-tests', 'skip upstream\'s voice tests and the regression tests')
  .option('--js-fix <source>', 'agents-js candidate: a patch file, a livekit/agents-js checkout, a git URL or path with #ref, or a published version')
  .option('--py-fix <source>', 'livekit-agents candidate: a patch file, a livekit/agents checkout, a git URL or path with #ref, or a published version')
  .action(async (o: MatrixCli & { upstreamTests: boolean; jsFix?: string; pyFix?: string }) => {
    const { runMatrix } = await import('./matrix/index.js');
    const fixes = Object.fromEntries(Object.entries({ js: o.jsFix, py: o.pyFix }).filter(([, v]) => !!v)) as Partial<Record<Runtime, string>>;
    process.exitCode = await runMatrix({ ...o, versions: versionsOf(o), workers: { py: o.pyWorker === 'container' ? 'container' : 'host' }, fixes, variants: ['unpatched', 'patched'], command: 'verify', upstreamTests: o.upstreamTests });
  });

program
  .command('bisect')
  .description('find the first release whose verdict on a scenario differs from the older end (each step a real run)')
  .requiredOption('-r, --runtime <runtime>', 'js or py', (v) => {
    if (!(RUNTIME_IDS as readonly string[]).includes(v)) throw new InvalidArgumentError(`"${v}" is not one of: ${RUNTIME_IDS.join(', ')}`);
    return v;
  })
  .requiredOption('-s, --scenario <name>', 'the scenario to judge each release by')
  .option('--from <version>', 'older end (default: the oldest release)')
  .option('--to <version>', 'newer end (default: the pinned version)')
  .option('--watchdog-ms <ms>', 'override the scenario watchdog (ms)', (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('a positive number of milliseconds');
    return n;
  })
  .option('--json', 'print the answer and every step as JSON on stdout; progress stays on stderr')
  .action(async (o: { runtime: Runtime; scenario: string; from?: string; to?: string; watchdogMs?: number; json?: boolean }) => {
    const { bisect } = await import('./matrix/bisect.js');
    const t0 = Date.now();
    const { result, runId, results } = await bisect({ ...o, log: (l) => console.error(l) });
    const wallS = Math.round((Date.now() - t0) / 1000);
    const undecided = result.goodVerdict === null || (result.firstBad !== null && result.lastGood === null);
    process.exitCode = undecided ? 1 : 0;
    if (o.json) {
      console.log(JSON.stringify({ runId, results, exitCode: process.exitCode, wallS, ...result }, null, 2));
      return;
    }
    for (const s of result.steps) console.log(`  ${s.version.padEnd(10)} ${s.verdict.padEnd(12)} ${Math.round(s.ms / 1000)} s${s.verdict === 'unsupported' ? `  ${s.reason}` : ''}`);
    console.log(`last good: ${result.lastGood ?? '-'}${result.goodVerdict ? ` (${result.goodVerdict})` : ''}`);
    console.log(`first bad: ${result.firstBad ?? '-'}${result.badVerdict && result.firstBad ? ` (${result.badVerdict})` : ''}`);
    console.log(`${result.summary}`);
    console.log(`${result.steps.length} run(s) over ${result.candidates} release(s), ${result.skipped.length} skipped, ${wallS} s; results: ${results}`);
  });

program
  .command('merge')
  .description('merge the results of --shard i/n runs into one run with all the reports')
  .argument('<dirs...>', 'the shard run folders (.kit/runs/<id> or reports/<id>)')
  .option('--json', 'print the merged run id and folder as JSON')
  .action(async (dirs: string[], o: { json?: boolean }) => {
    const { mergeShards } = await import('./matrix/merge.js');
    const { renderTable } = await import('./report/table.js');
    const { runId, reportDir, res } = await mergeShards(dirs);
    const { exitCodeOf } = await import('./verdict/index.js');
    process.exitCode = exitCodeOf(res.runs, res.upstreamTests);
    if (o.json) console.log(JSON.stringify({ runId, reports: reportDir, runs: res.runs.length, mergedFrom: res.mergedFrom, exitCode: process.exitCode }, null, 2));
    else console.log(`${renderTable(res.runs)}\n\nmerged ${res.mergedFrom?.length} shards into ${runId}: ${reportDir}`);
  });

program
  .command('ci')
  .description('write a CI workflow whose job matrix is the kit\'s own matrix (runtime x version x shard)')
  .option('--github', 'GitHub Actions (the only one so far)')
  .option('--shards <n>', 'shards per runtime x version', (v) => Number(v), 2)
  .option('-r, --runtime <runtimes>', 'js,py (default: both)', list(RUNTIME_IDS))
  .option('--js-version <spec>', '@livekit/agents versions', VERSIONS.agentsJs)
  .option('--py-version <spec>', 'livekit-agents versions', VERSIONS.agentsPy)
  .option('--repro', 'run kit repro instead of kit verify')
  .option('-o, --out <file>', 'write it there (default: stdout)')
  .action(async (o: { github?: boolean; shards: number; runtime?: Runtime[]; jsVersion: string; pyVersion: string; repro?: boolean; out?: string }) => {
    if (!o.github) throw new KitError('name the CI system', { fix: 'kit ci --github' });
    if (!Number.isInteger(o.shards) || o.shards < 1) throw new KitError('--shards takes a whole number >= 1', { fix: 'e.g. --shards 2' });
    const { githubWorkflow } = await import('./matrix/ci.js');
    const yml = githubWorkflow({ runtimes: o.runtime?.length ? o.runtime : [...RUNTIME_IDS], versions: versionsOf(o), shards: o.shards, command: o.repro ? 'repro' : 'verify' });
    if (o.out) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(o.out, yml);
      console.error(`wrote ${o.out}`);
    } else process.stdout.write(yml);
  });

program
  .command('compose')
  .description('write the whole stack as a compose file (+ its configs) for your own engine, from the config a run uses')
  .option('-o, --out <dir>', 'where (default: docker/)')
  .action(async (o: { out?: string }) => {
    const { composeFiles } = await import('./compose/index.js');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { ROOT } = await import('./config.js');
    const dir = o.out ?? join(ROOT, 'docker');
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(composeFiles())) writeFileSync(join(dir, f), text);
    console.error(`wrote ${Object.keys(composeFiles()).join(', ')} into ${dir}`);
  });

program
  .command('report')
  .description('regenerate the reports of a run from its results.json')
  .option('--run <id>', 'run id under reports/', 'latest')
  .action(async (o: { run: string }) => {
    const { locateRun, readResults } = await import('./report/results.js');
    const { renderTable } = await import('./report/table.js');
    const { writeReports } = await import('./report/index.js');
    const loc = locateRun(o.run);
    const res = readResults(loc.runId);
    const dir = loc.reportDir;
    const { files } = await writeReports(dir, res, { rawDir: loc.rawDir ?? dir });
    console.log(renderTable(res.runs));
    console.log(`\nwrote ${files.length} files into ${dir}: ${files.filter((f) => !f.startsWith('patches/') && !f.startsWith('runs/')).join(', ')}, patches/${loc.rawDir ? ', runs/ (redacted copies)' : ''}`);
  });

program
  .command('where')
  .description('print the @livekit/agents package root (js) or the venv python (py) the workers use; reads only (exit 2 naming the build command when missing)')
  .argument('<runtime>', 'js or py')
  .option('--patched', 'the patched install')
  .option('--js-version <version>', '@livekit/agents version', VERSIONS.agentsJs)
  .option('--py-version <version>', 'livekit-agents version', VERSIONS.agentsPy)
  .action(async (runtime: string, o: { patched?: boolean; jsVersion: string; pyVersion: string }) => {
    const { where } = await import('./matrix/index.js');
    const rt = RUNTIME_IDS.find((id) => id === runtime);
    if (!rt) throw new KitError(`unknown runtime "${runtime}"`, { fix: `use one of: ${RUNTIME_IDS.map((id) => `kit where ${id}`).join(', ')}` });
    console.log(where(rt, { patched: !!o.patched, version: versionsOf(o)[rt] }));
  });

program
  .command('bench')
  .description('benchmarks that print figures: stack, repro, verify, soak (interrupted runs, then a leftover count)')
  .argument('[what]', 'stack | repro | verify | bisect | soak', 'stack')
  .option('-n, --repeat <n>', 'repetitions (soak: number of interrupted runs)', (v) => Number(v), 3)
  .option('--seed <n>', 'soak: the PRNG seed (printed; replays a soak)', (v) => Number(v))
  .option('-j, --jobs <n>', 'repro/verify: runs at once', (v) => Number(v))
  .option('--from <version>', 'bisect: older end')
  .option('--to <version>', 'bisect: newer end')
  .option('-s, --scenario <names>', 'repro/verify: scenarios (default: all)', list())
  .option('-r, --runtime <runtimes>', 'repro/verify: js,py (default: both)', list(RUNTIME_IDS))
  .action(async (what: string, o: { repeat: number; scenario?: string[]; runtime?: Runtime[]; seed?: number; jobs?: number; from?: string; to?: string }) => {
    const { bench } = await import('./bench/index.js');
    await bench(what, { ...o, n: o.repeat });
  });

dieWithParent();

program.parseAsync(process.argv).catch((e: unknown) => {
  const json = process.argv.includes('--json');
  if (e instanceof KitError) {
    console.error(`kit: ${e.message}`);
    if (e.fix) console.error(`fix: ${e.fix}`);
    if (json) console.log(JSON.stringify({ exitCode: e.exitCode, error: e.message, fix: e.fix ?? null }, null, 2));
    process.exit(e.exitCode);
  }
  console.error(e);
  if (json) console.log(JSON.stringify({ exitCode: 2, error: String((e as Error)?.message ?? e), fix: null }, null, 2));
  process.exit(2);
});

/**
 * The kit dies with whoever started it (bin/kit.mjs, a shell, a CI step): when the parent
 * is gone (even by SIGKILL, which it cannot forward) this process is re-parented, and it
 * sends itself SIGTERM, so a running stack is torn down (the supervisor's handler, exit
 * 143) instead of the rest of the matrix running unattended. Polled every 250 ms: Linux
 * has no portable parent-death notice for a Node process.
 */
function dieWithParent(): void {
  const parent = process.ppid;
  if (parent <= 1) return;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
  }, 250).unref();
}
