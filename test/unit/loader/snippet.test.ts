import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HIDE_RULE } from '../../../src/dom/hideSheet';
import { SNIPPET } from '../../../src/loader/snippet';
import { sdkInstall } from '../../../demo/shop/sdkInstall';

const pages = new URL('../../e2e/pages/', import.meta.url).pathname;

describe('the install snippet', () => {
  it('hides slots with the same rule the SDK installs itself', () => {
    expect(SNIPPET).toContain(HIDE_RULE);
  });
  it('is pasted verbatim in every e2e fixture page and in the demo shop', () => {
    const html = readdirSync(pages).filter((f) => f.endsWith('.html'));
    expect(html.length).toBeGreaterThan(3);
    for (const f of html) {
      const text = readFileSync(join(pages, f), 'utf8');
      // A page may load it as a file of its own (strict CSP without a nonce): that file is the snippet.
      if (text.includes('<script src="snippet.js"></script>')) expect(readFileSync(join(pages, 'snippet.js'), 'utf8')).toBe(`${SNIPPET}\n`);
      else expect(text, f).toContain(SNIPPET);
    }
    expect(String(sdkInstall({ consent: 'granted' }))).toContain(SNIPPET);
    expect(readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')).toContain(SNIPPET);
  });
  it('queues calls and shows the slots again when the SDK never arrives', async () => {
    // A minimal window/document: enough for the snippet's fallback path (<style>).
    const appended: Array<{ textContent: string; removed: boolean; remove(): void }> = [];
    const document = {
      head: { appendChild: (el: (typeof appended)[number]) => appended.push(el) },
      createElement: () => ({
        textContent: '',
        removed: false,
        remove() {
          this.removed = true;
        },
      }),
    };
    const window: Record<string, unknown> = {};
    new Function('window', 'document', 'performance', 'setTimeout', SNIPPET.replace(',300);', ',5);'))(
      window,
      document,
      performance,
      setTimeout,
    );
    const q = window.edgePersonalize as unknown[] & { snippet: { timeout: number } };
    expect(Array.isArray(q)).toBe(true);
    q.push(['track', 'view', { itemId: 'A' }]);
    expect(q).toHaveLength(1);
    expect(appended[0]!.textContent).toBe(HIDE_RULE);
    await new Promise((r) => setTimeout(r, 30));
    expect(appended[0]!.removed).toBe(true);
  });
});
