// upstreamGitDir / upstreamFiles read a pinned upstream commit from a local mirror first
// (ts/gates/upstream-files.ts); kit verify's preflight relies on the same look-up.
import { execaSync } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { upstreamFiles, upstreamGitDir } from '../ts/gates/upstream-files.js';

const root = mkdtempSync(join(tmpdir(), 'ck-mirror-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function mirrorWithCommit(slug: string): string {
  const work = join(root, 'work');
  execaSync('git', ['init', '-q', work]);
  writeFileSync(join(work, '.prettierrc'), '{ "singleQuote": true }\n');
  execaSync('git', ['-C', work, 'add', '.']);
  execaSync('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'x']);
  execaSync('git', ['clone', '-q', '--bare', work, join(root, slug, 'repo')]);
  return execaSync('git', ['-C', work, 'rev-parse', 'HEAD']).stdout.trim();
}

describe('upstream files from a local mirror', () => {
  it('reads the pinned commit from $CLOSEKIT_MIRRORS/<owner>+<name>/repo and copies only the asked paths', async () => {
    const commit = mirrorWithCommit('closekit-test+mirror-only');
    const prev = process.env.CLOSEKIT_MIRRORS;
    process.env.CLOSEKIT_MIRRORS = root;
    try {
      const pin = { repo: 'closekit-test/mirror-only', commit };
      expect(await upstreamGitDir(pin)).toBe(join(root, 'closekit-test+mirror-only', 'repo'));
      const dir = await upstreamFiles(pin, ['.prettierrc']);
      expect(readFileSync(join(dir, '.prettierrc'), 'utf8')).toContain('singleQuote');
      await expect(upstreamFiles(pin, ['no-such-file.json'])).rejects.toThrow(/has no readable no-such-file\.json/);
    } finally {
      if (prev === undefined) delete process.env.CLOSEKIT_MIRRORS;
      else process.env.CLOSEKIT_MIRRORS = prev;
    }
  });
});
