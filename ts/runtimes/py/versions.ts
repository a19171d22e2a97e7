/**
 * The published releases of livekit-agents this Python can install, oldest first
 * (`pip index versions livekit-agents`), prereleases left out: what version ranges and
 * `kit bisect` walk.
 */
import { execa } from 'execa';
import { KitError } from '../../errors.js';
import { findBasePython } from './install.js';

/** @throws KitError (exit 2) when pip cannot list them. */
export async function publishedPyVersions(): Promise<string[]> {
  const { python } = await findBasePython();
  const r = await execa(python, ['-m', 'pip', 'index', 'versions', 'livekit-agents', '--disable-pip-version-check'], { reject: false });
  const m = /Available versions: (.*)/.exec(r.stdout);
  if (r.exitCode !== 0 || !m) throw new KitError(`cannot list livekit-agents versions on PyPI: ${(r.stderr || r.stdout).trim().split('\n').pop()}`, { fix: 'check that PyPI is reachable (pip config, proxy)' });
  return m[1]!.split(',').map((s) => s.trim()).filter((v) => /^\d+\.\d+\.\d+$/.test(v)).reverse();
}
