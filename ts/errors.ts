/**
 * KitError: a failure the user can fix. The CLI prints `message` and `fix` on stderr and
 * exits with `exitCode` (2 for bad input or a component that could not start: the kit's
 * exit-code contract, README "Exit codes").
 */
export class KitError extends Error {
  readonly exitCode: number;
  readonly fix?: string;
  constructor(message: string, opts: { fix?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'KitError';
    this.exitCode = opts.exitCode ?? 2;
    this.fix = opts.fix;
  }
}
