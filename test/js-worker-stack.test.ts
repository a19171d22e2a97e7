/**
 * The agents-js worker for real: registered with a real livekit-server in a fresh network
 * namespace, dispatched explicitly by agent name, its job process loading agents from the
 * runtime dir and reaching the kit's gateway through LIVEKIT_INFERENCE_URL. Then the room
 * is deleted and the job must close the session and end (1.9.0: ipc/job_proc_lazy_main.ts
 * Room 'disconnected' → finalizeSession → shutdown callbacks → process.exit).
 * Needs root (ip netns), `.kit/bin/livekit-server` and the pinned runtime (make setup).
 * Every wait is event-driven; the vitest timeout is only the outer bound.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentDispatchClient, RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, describe, expect, it } from 'vitest';
import { LIVEKIT_SERVER_BIN, PORTS, ROOT, VERSIONS } from '../ts/config.js';
import { waitForGateway } from '../ts/providers/client.js';
import { gatewayInferenceUrl } from '../ts/providers/gateway.js';
import { loadScenarioFile } from '../ts/scenario/load.js';
import { SCENARIOS_DIR } from '../ts/config.js';
import { isJsRuntimeComplete, jsRuntimeDir } from '../ts/runtimes/js/install.js';
import { startJsWorker, waitForRegistration, writeScenarioJson } from '../ts/runtimes/js/index.js';
import { newKeyPair } from '../ts/stack/keys.js';
import { startLivekitServer } from '../ts/stack/livekit-server.js';
import { createRunNetwork } from '../ts/stack/netns.js';
import { Supervisor } from '../ts/stack/supervisor.js';

const runtimeDir = jsRuntimeDir(VERSIONS.agentsJs);
const canRun = process.getuid?.() === 0 && existsSync(LIVEKIT_SERVER_BIN) && isJsRuntimeComplete(runtimeDir, VERSIONS.agentsJs);

interface Ev {
  ev: string;
  t: number;
  pid?: number;
  data?: Record<string, any>;
}
const read = (f: string): Ev[] =>
  existsSync(f)
    ? readFileSync(f, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Ev)
    : [];
async function until(f: string, pred: (e: Ev[]) => boolean): Promise<Ev[]> {
  for (;;) {
    const evs = read(f);
    if (pred(evs)) return evs;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe.skipIf(!canRun)(`agents-js ${VERSIONS.agentsJs} worker on a real livekit-server`, () => {
  it('registers, takes an explicit dispatch, runs the session on the gateway, and ends the job when the room is deleted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ck-jsstack-'));
    const net = await createRunNetwork(`tjs${process.pid.toString(36)}`.slice(0, 8), { allowHost: false });
    const sup = new Supervisor({ runId: 'jsstack', logsDir: join(dir, 'logs'), net, handleSignals: false });
    cleanups.push(async () => {
      await sup.teardown();
      rmSync(dir, { recursive: true, force: true });
    });
    const kit = newKeyPair('kit');
    const js = newKeyPair('js');
    const lk = await startLivekitServer(sup, { keys: { [kit.apiKey]: kit.apiSecret, [js.apiKey]: js.apiSecret } });

    const scenario = loadScenarioFile(join(SCENARIOS_DIR, 'hangup-clean.yaml'));
    writeFileSync(join(dir, 'gw-script.json'), JSON.stringify(scenario.gateway));
    writeFileSync(join(dir, 'gw-keys.json'), JSON.stringify({ kit, js }));
    sup.spawn('gateway', process.execPath, ['--import', 'tsx', join(ROOT, 'ts/providers/main.ts'), '--host', net.nsAddr, '--port', String(PORTS.gateway), '--script', join(dir, 'gw-script.json'), '--keys', join(dir, 'gw-keys.json')], { cwd: ROOT });
    await waitForGateway(`http://${net.nsAddr}:${PORTS.gateway}`, 20_000);

    const eventsFile = join(dir, 'events.jsonl');
    const agentName = 'closekit-js-test';
    const child = startJsWorker(sup, {
      runtimeDir,
      livekit: { wsUrl: lk.wsUrl, apiKey: js.apiKey, apiSecret: js.apiSecret },
      inferenceUrl: gatewayInferenceUrl(net.nsAddr, PORTS.gateway),
      agentName,
      scenarioFile: writeScenarioJson(scenario, join(dir, 'scenario.json')),
      eventsFile,
    });
    const reg = await waitForRegistration(child, eventsFile, { timeoutMs: 60_000 });
    expect(reg.data).toMatchObject({ agentName, agentsVersion: VERSIONS.agentsJs, agentsDir: runtimeDir });

    const room = 'ck-jsstack';
    const rooms = new RoomServiceClient(lk.httpUrl, kit.apiKey, kit.apiSecret);
    await rooms.createRoom({ name: room, emptyTimeout: 60 });
    await new AgentDispatchClient(lk.httpUrl, kit.apiKey, kit.apiSecret).createDispatch(room, agentName, { metadata: '{"test":true}' });

    let evs = await until(eventsFile, (e) => e.some((x) => x.ev === 'stt.connect'));
    const job = evs.find((e) => e.ev === 'job.started')!;
    expect(job.data).toMatchObject({ room, agentName, agentsVersion: VERSIONS.agentsJs });
    // The job process is a fork of the worker and loads agents from the runtime dir too.
    expect(job.pid).not.toBe(reg.pid);
    expect(job.data!.agentsRoot.startsWith(runtimeDir)).toBe(true);
    expect(evs.map((e) => e.ev)).toEqual(expect.arrayContaining(['agent.entered', 'session.started']));

    await rooms.deleteRoom(room);
    evs = await until(eventsFile, (e) => e.some((x) => x.ev === 'job.exit'));
    const after = evs.filter((e) => e.pid === job.pid).map((e) => e.ev);
    expect(after).toEqual(expect.arrayContaining(['room.disconnected', 'close.requested', 'drain.end', 'activity.close.end', 'session.closed', 'job.exit']));
    const tail = readFileSync(child.logFile, 'utf8').split('\n').filter((l) => !l.includes('"level":20')).slice(-25).join('\n');
    const code = evs.find((e) => e.ev === 'job.exit')!.data?.code;
    if (code === 0) {
      expect(after.indexOf('session.closed')).toBeLessThan(after.indexOf('shutdown.callback'));
    } else {
      // Known on Node 20 (nodejs/node#57272, whatwg/streams#1341): a late STT server message
      // reaches inference/stt.ts's ws 'message' handler after resourceCleanup() closed its
      // event channel; writer.write() on the closed stream hits an internal assertion and the
      // job process dies with exit 1 after the session closed, before or after the
      // shutdown callbacks ran (it races with them).
      expect(tail).toMatch(/ERR_INTERNAL_ASSERTION[\s\S]*inference\/stt\.ts/);
    }
    // The worker itself stays registered and up.
    expect(child.done).toBe(false);
  }, 180_000);
});
