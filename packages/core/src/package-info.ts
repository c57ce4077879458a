import { readFileSync } from 'node:fs'

/** Name and version from the package.json one level above `fromUrl`'s folder (src/ and dist/ alike). */
export function packageInfo (fromUrl: string): { name: string, version: string } {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', fromUrl), 'utf8')) as { name: string, version: string }
  return { name: pkg.name, version: pkg.version }
}
