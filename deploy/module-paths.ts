/**
 * Paths of modules that are loaded by path (a forked process's entry), in the form the
 * caller runs in: TypeScript from source under tsx, JavaScript when compiled into
 * `.build/` by deploy/build.ts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `relativeWithoutExtension` beside `fromUrl`, with the caller's own extension. A compiled
 * worker must fork compiled job entries, or its job processes would need the TypeScript
 * loader after all.
 */
export function sameFormModule(fromUrl: string, relativeWithoutExtension: string): string {
  const extension = path.extname(fileURLToPath(fromUrl));
  return fileURLToPath(new URL(`${relativeWithoutExtension}${extension}`, fromUrl));
}
