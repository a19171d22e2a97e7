/**
 * The agent under test: a voice Agent from the runtime's own `@livekit/agents`
 * (CLOSEKIT_AGENTS_DIR, see load.ts) whose onEnter / onExit / function tool park per the
 * scenario's `wedge` block. Python mirror: python-shim/closekit_shim/agent.py.
 *
 * This module awaits the runtime at top level, so importing it needs CLOSEKIT_AGENTS_DIR
 * (or an earlier `loadRuntime(dir)` call in the same process).
 */
import { hangupPlan, type Scenario } from '../scenario/spec.js';
import type { Emit } from './emit.js';
import { loadRuntime } from './runtime.js';
import { parkForever } from './wedge.js';

const { agents } = await loadRuntime();
const { voice, llm } = agents;

type Tool = ReturnType<typeof llm.tool<unknown, any, unknown>> & { name: string };

/**
 * JSON schema for the wedge tool's arguments, taken from the gateway's scripted tool call
 * of the same name (so the LLM stream's arguments validate), else an open object.
 */
function toolParameters(scenario: Scenario, name: string): Record<string, unknown> {
  const call = scenario.gateway.llm.find((t): t is { toolCall: { name: string; arguments: Record<string, unknown> } } => 'toolCall' in t && t.toolCall.name === name);
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(call?.toolCall.arguments ?? {})) {
    props[k] = { type: typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string', description: k };
  }
  return { type: 'object', properties: props, required: Object.keys(props), additionalProperties: false };
}

/** `<name>: <message>` of a thrown value, at most 300 characters (the `tool.end_call.returned` error). */
export function describeThrown(e: unknown): string {
  const err = e as { name?: unknown; message?: unknown } | null;
  const name = typeof err?.name === 'string' && err.name ? err.name : typeof e;
  const message = typeof err?.message === 'string' ? err.message : String(e);
  return `${name}: ${message}`.slice(0, 300);
}

/**
 * The end-call tool of `close.trigger: agent-tool` (named `scenario.close.tool`): the common
 * end-call pattern of the user reports (seeds 000, 002). What it does is `close.toolDoes`:
 * - `close`: the tool closes the session itself, `await ctx.session.close()` (agent_session.ts
 *   `close()`: `_closeSoon` then awaits the closing task); with `close.toolAwaitsClose: false`
 *   it starts the close (`void ctx.session.close()`) and returns at once;
 * - `delete-room`: `await getJobContext().deleteRoom()` (job.ts `deleteRoom`: RoomService
 *   DeleteRoom), the hang-up helper of seed 002; the session's close then comes from the room
 *   going away;
 * - `shutdown-job`: `getJobContext().shutdown('end_call')` (job.ts `shutdown`), which runs the
 *   job's shutdown path; nothing to await.
 * Emits `tool.end_call.start {tool, args, awaited, does}` before the call and
 * `tool.end_call.returned {tool, ok, error, ms, awaited, does}` when the call's promise
 * settles (a throw is re-thrown when awaited, as the user's tool would see it). Default
 * flags, like the user's tool.
 */
function endCallTool(scenario: Scenario, emit: Emit): Tool {
  const name = scenario.close.tool!;
  const plan = hangupPlan(scenario);
  const does = plan.trigger === 'agent-tool' ? plan.toolDoes : 'close';
  const awaited = plan.trigger === 'agent-tool' ? plan.toolAwaitsClose : true;
  const endTheCall = (session: { close(): Promise<void> }): Promise<void> => {
    if (does === 'close') return session.close();
    const job = agents.getJobContext();
    if (does === 'delete-room') return job.deleteRoom();
    job.shutdown('end_call');
    return Promise.resolve();
  };
  return llm.tool({
    name,
    description: `End the call (${name}). Call this when the caller says goodbye or asks to hang up.`,
    parameters: toolParameters(scenario, name) as any,
    execute: async (args: unknown, opts: { ctx: { session: { close(): Promise<void> } } }) => {
      emit('tool.end_call.start', { tool: name, args: args as Record<string, unknown>, awaited, does });
      const t0 = performance.now();
      const ending = endTheCall(opts.ctx.session).then(
        () => emit('tool.end_call.returned', { tool: name, ok: true, error: null, ms: Math.round(performance.now() - t0), awaited, does }),
        (e: unknown) => {
          emit('tool.end_call.returned', { tool: name, ok: false, error: describeThrown(e), ms: Math.round(performance.now() - t0), awaited, does });
          throw e;
        },
      );
      if (awaited) await ending;
      else ending.catch(() => {}); // the outcome is on the timeline; nobody awaits it
      return 'The call has ended.';
    },
  }) as unknown as Tool;
}

/**
 * The function tools for `scenario`: the end-call tool (endCallTool) when
 * `close.trigger: agent-tool`; and for `wedge.where: tool`, one tool named
 * `scenario.wedge.tool` that emits `wedge.entered {where:'tool', tool, args}` and then
 * never returns. With `ignores: cancellation` it never reads `abortSignal`; with
 * `ignores: nothing` it returns once the signal aborts. Tools use the default flags
 * (`ToolFlag.NONE`, not cancellable), as a user's tool does unless they opt in
 * (llm/tool_context.ts `tool()`; voice/tool_executor.ts `drain()` awaits such tools).
 * Other scenarios get no tools.
 * @returns an array of FunctionTool from the runtime's `llm.tool()`.
 */
export function makeTools(scenario: Scenario, emit: Emit): Tool[] {
  const tools: Tool[] = [];
  if (scenario.close.trigger === 'agent-tool') tools.push(endCallTool(scenario, emit));
  if (scenario.wedge.where !== 'tool') return tools;
  const name = scenario.wedge.tool!;
  const ignores = scenario.wedge.ignores;
  return [
    ...tools,
    llm.tool({
      name,
      description: `Look up what the caller asked about (${name}). Always call this when the caller asks about an order.`,
      parameters: toolParameters(scenario, name) as any,
      execute: async (args: unknown, opts: { abortSignal?: AbortSignal }) => {
        if (ignores === 'nothing' && opts.abortSignal) {
          emit('wedge.entered', { where: 'tool', tool: name, args: args as Record<string, unknown>, honoursAbort: true });
          await new Promise<void>((resolve) => {
            if (opts.abortSignal!.aborted) return resolve();
            opts.abortSignal!.addEventListener('abort', () => resolve(), { once: true });
          });
          return 'aborted';
        }
        return parkForever('tool', emit, { tool: name, args: args as Record<string, unknown> });
      },
    }) as unknown as Tool,
  ];
}

/**
 * voice.Agent whose hooks follow the scenario:
 * - onEnter: emits `agent.entered {agent}`; for `wedge.where: on_enter` then parks
 *   (the initial onEnter runs as a speech task: agent_activity.ts `_onEnterTask`).
 * - onExit: for `wedge.where: on_exit` parks; the forced close runs it inside
 *   `AgentActivity._drainImpl` under the activity lock.
 * - tools: makeTools(scenario, emit).
 * Control scenarios (`where: none`) just reply through STT → LLM → TTS.
 */
export class WedgeAgent extends voice.Agent {
  readonly scenario: Scenario;
  private readonly emitEv: Emit;

  constructor(scenario: Scenario, emit: Emit) {
    super({
      instructions: 'You are the closekit test agent on a phone call. Answer in one short sentence. Use your tools when the caller asks about an order.',
      tools: makeTools(scenario, emit),
    });
    this.scenario = scenario;
    this.emitEv = emit;
  }

  override async onEnter(): Promise<void> {
    this.emitEv('agent.entered', { agent: this.id, wedge: this.scenario.wedge.where });
    if (this.scenario.wedge.where === 'on_enter') await parkForever('on_enter', this.emitEv);
  }

  override async onExit(): Promise<void> {
    if (this.scenario.wedge.where === 'on_exit') await parkForever('on_exit', this.emitEv);
  }
}
