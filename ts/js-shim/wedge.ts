/**
 * The wedge: code that never returns and never looks at its abort signal, the construct
 * each scenario's `wedge.constructs.js` names (seed 003: "a task parked on an await that
 * doesn't observe the signal stays running").
 */
import type { Emit } from './emit.js';

/**
 * Emits `wedge.entered { where }` and returns a promise that never settles. Any abort
 * signal the caller holds is deliberately ignored, so upstream's interrupt/cancel paths
 * (AgentActivity.interrupt, ToolExecutor.drain, Task.cancel) cannot end it.
 * The never-settling promise keeps nothing alive by itself (no timer, no handle), so the
 * process can still exit when everything else is done.
 */
export function parkForever(where: 'tool' | 'on_enter' | 'on_exit' | string, emit: Emit, data: Record<string, unknown> = {}): Promise<never> {
  emit('wedge.entered', { where, ...data });
  return new Promise<never>(() => {});
}
