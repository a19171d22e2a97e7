/**
 * Version specs of `--js-version` / `--py-version`: a comma list of exact versions,
 * inclusive ranges `A..B` over the published releases, and `latest`. Release order is
 * the registry's (semver), never string order.
 */
import { KitError } from '../errors.js';

/** Compares two x.y.z versions numerically. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** True when `spec` needs the published list (a range or `latest`); a plain list does not. */
export function needsReleaseList(spec: string): boolean {
  return spec.split(',').some((p) => p.includes('..') || p.trim() === 'latest');
}

/**
 * Expands `spec` against `published` (oldest first) into versions, oldest first, no duplicates.
 * @throws KitError (exit 2) for a range end or version that is not published, an empty
 *   range, or a malformed item; naming the nearest releases.
 */
export function expandVersions(spec: string, published: string[], label: string): string[] {
  const sorted = [...published].sort(compareVersions);
  const known = (v: string) => {
    if (!sorted.includes(v)) {
      const near = sorted.filter((x) => x.split('.').slice(0, 2).join('.') === v.split('.').slice(0, 2).join('.'));
      throw new KitError(`${label} ${v} is not a published release`, { fix: `choose from ${(near.length ? near : sorted.slice(-5)).join(', ')}` });
    }
    return v;
  };
  const out: string[] = [];
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (raw === 'latest') out.push(sorted.at(-1)!);
    else if (raw.includes('..')) {
      const [a, b] = raw.split('..').map((s) => s.trim());
      if (!a || !b) throw new KitError(`${label} range ${JSON.stringify(raw)} needs both ends`, { fix: 'write it as A..B, e.g. 1.5.0..1.9.0' });
      const from = known(a);
      const to = b === 'latest' ? sorted.at(-1)! : known(b);
      const range = sorted.filter((v) => compareVersions(v, from) >= 0 && compareVersions(v, to) <= 0);
      if (!range.length) throw new KitError(`${label} range ${raw} is empty`, { fix: 'put the older release first: A..B' });
      out.push(...range);
    } else if (/^\d+\.\d+\.\d+/.test(raw)) out.push(raw);
    else throw new KitError(`${label} ${JSON.stringify(raw)} is not a version, a range A..B or latest`, { fix: 'e.g. 1.9.0, 1.5.0..1.9.0, latest' });
  }
  return [...new Set(out)].sort(compareVersions);
}
