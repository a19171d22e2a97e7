/**
 * The published releases of @livekit/agents, oldest first (`npm view @livekit/agents
 * versions --json`), prereleases left out: what version ranges and `kit bisect` walk.
 */
import { execa } from 'execa';
import { KitError } from '../../errors.js';

/** @throws KitError (exit 2) when npm cannot list them. */
export async function publishedJsVersions(): Promise<string[]> {
  const r = await execa('npm', ['view', '@livekit/agents', 'versions', '--json'], { reject: false });
  if (r.exitCode !== 0) throw new KitError(`cannot list @livekit/agents versions: ${r.stderr.split('\n').find((l) => /error/i.test(l)) ?? r.stderr}`, { fix: 'check that npm can reach its registry (npm ping)' });
  const all = JSON.parse(r.stdout) as string[] | string;
  return (Array.isArray(all) ? all : [all]).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
}
