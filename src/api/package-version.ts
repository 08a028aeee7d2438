import { existsSync, readFileSync } from 'node:fs';

/**
 * The version in the nearest package.json above this module that has one: the source tree and a
 * compiled one alike find the project's own.
 */
export function packageVersion(from: string = import.meta.url): string {
  for (let directory = new URL('.', from); ; directory = new URL('..', directory)) {
    const file = new URL('package.json', directory);
    if (existsSync(file)) {
      const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
      if (typeof version === 'string') return version;
    }
    if (directory.pathname === '/') throw new Error(`no package.json with a version above ${from}`);
  }
}
