import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../../..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import specifier of a file, resolved to a path under the repository. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)].map((m) => relative(root, resolve(file, '..', m[1]!)));
}

describe('architecture', () => {
  it('src/ never imports from models/ (the SDK and server must not depend on training code)', () => {
    const offending = tsFiles(join(root, 'src')).flatMap((f) =>
      imports(f)
        .filter((i) => i.startsWith('models/'))
        .map((i) => `${relative(root, f)} → ${i}`),
    );
    expect(offending).toEqual([]);
  });

  it('browser code never imports the Node-only folders (src/node, src/server)', () => {
    const nodeOnly = (p: string): boolean => p.startsWith('src/node/') || p.startsWith('src/server/');
    const browser = tsFiles(join(root, 'src')).filter((f) => !nodeOnly(relative(root, f)));
    const offending = browser.flatMap((f) =>
      imports(f)
        .filter(nodeOnly)
        .map((i) => `${relative(root, f)} → ${i}`),
    );
    expect(offending).toEqual([]);
  });

  it('src/model/plain/ (the first rank, the file format) never imports tfjs or src/model/tfjs/', () => {
    const plain = tsFiles(join(root, 'src/model/plain'));
    expect(plain.length).toBeGreaterThan(0);
    const offending = plain.flatMap((f) => {
      const text = readFileSync(f, 'utf8');
      const bad = imports(f).filter((i) => i.startsWith('src/model/tfjs/'));
      if (/from '@tensorflow\//.test(text)) bad.push('@tensorflow/*');
      return bad.map((i) => `${relative(root, f)} → ${i}`);
    });
    expect(offending).toEqual([]);
  });
});
