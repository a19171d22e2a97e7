/**
 * Every type that crosses a process or file boundary, in one place (Playwright keeps the
 * same idea in `common/ipc.ts`): the timeline events both workers write, the worker
 * environment, the parked capture, results.json. Imports nothing of ours.
 */
export * from './events.js';
export * from './env.js';
export * from './parked.js';
export * from './results.js';
