/**
 * The page's static files. They are served straight from the source tree (`src/fe/web/`), found
 * relative to this compiled file, so `dist/` holds no copy that could go stale; `--assets-dir`
 * points elsewhere (a deployed copy). Only regular files inside the folder are served.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * `src/fe/web` of this checkout: next to this file when it runs from the source tree, three levels
 * up from `dist/src/fe/` when compiled.
 */
export function defaultAssetsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'web'), path.resolve(here, '../../../src/fe/web')];
  return candidates.find((d) => existsSync(path.join(d, 'index.html'))) ?? candidates[1]!;
}

/** Throws unless `dir` is a folder holding index.html (Codis: the assets dir must contain it). */
export function checkAssetsDir(dir: string): string {
  const abs = path.resolve(dir);
  const index = path.join(abs, 'index.html');
  if (!existsSync(index) || !statSync(index).isFile()) throw new Error(`no index.html in assets dir ${abs}`);
  return abs;
}

export interface Asset {
  type: string;
  body: Buffer;
}

/** The file for a URL path (`/` is index.html), or undefined when there is none. */
export async function readAsset(dir: string, urlPath: string): Promise<Asset | undefined> {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (rel.endsWith('/')) rel += 'index.html';
  if (rel.includes('\0')) return undefined;
  const file = path.resolve(dir, `.${path.posix.normalize(`/${rel}`)}`);
  if (file !== dir && !file.startsWith(dir + path.sep)) return undefined;
  if (path.basename(file).startsWith('.')) return undefined;
  try {
    if (!statSync(file).isFile()) return undefined;
    return {
      type: TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      body: await readFile(file),
    };
  } catch {
    return undefined;
  }
}
