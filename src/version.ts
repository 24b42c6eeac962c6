// The release version, from package.json (an import attribute, so Node, esbuild and vitest agree).
import pkg from '../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
