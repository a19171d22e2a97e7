/**
 * CLI entry for the provider gateway as a child process:
 *   tsx ts/providers/main.ts --host H --port P --script script.json --keys keys.json
 * Prints `{"ev":"listening","url":…,"inferenceUrl":…,"startedAtMonotonicMs":…}` once ready,
 * then one JSON line per gateway event; on SIGTERM/SIGINT closes every socket and exits 0.
 * Bad arguments or files: message + fix on stderr, exit 2.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { KitError } from '../errors.js';
import { startGateway } from './gateway.js';

function readJson(flag: string, path: string | undefined): unknown {
  if (!path) throw new KitError(`missing --${flag}`, { fix: `pass --${flag} <file.json>` });
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new KitError(`cannot read --${flag} ${path}: ${(err as Error).message}`, { fix: `write the ${flag} as a JSON file and pass its path`, cause: err });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { host: { type: 'string' }, port: { type: 'string' }, script: { type: 'string' }, keys: { type: 'string' } },
    strict: true,
  });
  if (!values.host) throw new KitError('missing --host', { fix: 'pass --host <address> (the run namespace address, or 127.0.0.1)' });
  const port = Number(values.port ?? '');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new KitError(`--port ${values.port ?? '(missing)'} is not a TCP port`, { fix: 'pass --port <0-65535>' });
  const out = (line: Record<string, unknown>) => process.stdout.write(JSON.stringify(line) + '\n');
  const gw = await startGateway({
    host: values.host,
    port,
    script: readJson('script', values.script),
    keys: readJson('keys', values.keys),
    log: (line) => {
      if (line.ev !== 'listening') out(line);
    },
  });
  out({ ev: 'listening', url: gw.url, inferenceUrl: gw.inferenceUrl, startedAtMonotonicMs: gw.startedAtMonotonicMs });
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    out({ ev: 'stopping', signal: sig, open: gw.ledger().filter((e) => e.closedAt === null).length });
    void gw.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof KitError) {
    process.stderr.write(`gateway: ${err.message}\n${err.fix ? `fix: ${err.fix}\n` : ''}`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`gateway: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(2);
});
