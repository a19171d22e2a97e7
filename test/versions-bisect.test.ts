/**
 * The version axis: specs (`1.9.0`, lists, `A..B`, `latest`) expand over the real release
 * order, and the bisection over releases finds the first changed verdict in few runs,
 * skipping releases the kit cannot drive.
 */
import { describe, expect, it } from 'vitest';
import type { Verdict } from '../ts/contract/results.js';
import { KitError } from '../ts/errors.js';
import { searchReleases } from '../ts/matrix/bisect.js';
import { compareVersions, expandVersions, needsReleaseList } from '../ts/matrix/versions.js';

const RELEASES = ['1.0.0', '1.0.10', '1.0.9', '1.1.0', '1.2.0', '1.2.1', '1.10.0', '1.9.0'];

describe('version specs', () => {
  it('orders releases by number, not by string', () => {
    expect([...RELEASES].sort(compareVersions)).toEqual(['1.0.0', '1.0.9', '1.0.10', '1.1.0', '1.2.0', '1.2.1', '1.9.0', '1.10.0']);
  });

  it('expands lists, inclusive ranges and latest', () => {
    expect(expandVersions('1.9.0', RELEASES, '--js-version')).toEqual(['1.9.0']);
    expect(expandVersions('1.0.9..1.2.0', RELEASES, '--js-version')).toEqual(['1.0.9', '1.0.10', '1.1.0', '1.2.0']);
    expect(expandVersions('latest', RELEASES, '--js-version')).toEqual(['1.10.0']);
    expect(expandVersions('1.2.1..latest,1.0.0', RELEASES, '--js-version')).toEqual(['1.0.0', '1.2.1', '1.9.0', '1.10.0']);
    expect(needsReleaseList('1.9.0,1.8.0')).toBe(false);
    expect(needsReleaseList('1.5.0..1.9.0')).toBe(true);
  });

  it('bad specs are exit 2 naming the nearest releases', () => {
    const bad = (spec: string) => {
      try {
        expandVersions(spec, RELEASES, '--py-version');
      } catch (e) {
        expect(e).toBeInstanceOf(KitError);
        expect((e as KitError).exitCode).toBe(2);
        return e as KitError;
      }
      throw new Error(`${spec} was accepted`);
    };
    expect(bad('1.2.5..1.9.0').message).toMatch(/--py-version 1.2.5 is not a published release/);
    expect(bad('1.2.5..1.9.0').fix).toMatch(/1\.2\.0, 1\.2\.1/);
    expect(bad('1.9.0..1.0.0').message).toMatch(/is empty/);
    expect(bad('1.0.0..').message).toMatch(/needs both ends/);
    expect(bad('newest').message).toMatch(/is not a version, a range A..B or latest/);
  });
});

/** A fake release history: the verdict per index, and a log of which releases were run. */
function history(verdicts: Verdict[]) {
  const asked: number[] = [];
  const seen = new Map<number, Verdict>();
  const at = async (i: number) => {
    if (!seen.has(i)) {
      asked.push(i);
      seen.set(i, verdicts[i]!);
    }
    return seen.get(i)!;
  };
  return { at, asked };
}

describe('searchReleases', () => {
  it('finds the first hang after closed releases in log2(n) runs, not a linear scan', async () => {
    const v: Verdict[] = [...Array(40).fill('closed'), ...Array(24).fill('hang')];
    const h = history(v);
    expect(await searchReleases(v.length, h.at)).toEqual({ kind: 'changed', lo: 39, hi: 40, good: 'closed', bad: 'hang' });
    expect(h.asked.length).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(v.length)) + 1);
  });

  it('skips releases it cannot drive, and says when only those lie between', async () => {
    const v: Verdict[] = ['closed', 'closed', 'unsupported', 'unsupported', 'hang', 'hang', 'hang'];
    expect(await searchReleases(v.length, history(v).at)).toEqual({ kind: 'changed', lo: 1, hi: 4, good: 'closed', bad: 'hang' });
    const e: Verdict[] = ['closed', 'error', 'closed', 'hang'];
    expect(await searchReleases(e.length, history(e).at)).toMatchObject({ kind: 'changed', lo: 2, hi: 3 });
  });

  it('an older end that cannot be driven: the first drivable release becomes the end, found by bisection', async () => {
    const v: Verdict[] = [...Array(30).fill('unsupported'), 'hang', 'hang', 'hang', 'hang'];
    const h = history(v);
    expect(await searchReleases(v.length, h.at)).toEqual({ kind: 'same', lo: 30, hi: 33, verdict: 'hang' });
    expect(h.asked.length).toBeLessThan(10);
  });

  it('nothing drivable, or the same verdict at both ends', async () => {
    expect(await searchReleases(3, history(['unsupported', 'unsupported', 'unsupported']).at)).toEqual({ kind: 'undrivable' });
    expect(await searchReleases(3, history(['hang', 'closed', 'hang']).at)).toEqual({ kind: 'same', lo: 0, hi: 2, verdict: 'hang' });
  });
});
