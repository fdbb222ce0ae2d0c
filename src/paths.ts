import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The project root: the folder holding package.json. Found by walking up, because this file runs
 * both from `src/` (tests, swc) and from `dist/src/` (the built platform).
 */
function findProjectRoot(start: string): string {
  let dir = start;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

export const projectRoot = findProjectRoot(__dirname);
export const viewsDir = path.join(projectRoot, 'views');
export const publicDir = path.join(projectRoot, 'public');
export const migrationsDir = path.join(projectRoot, 'src', 'db', 'migrations');
