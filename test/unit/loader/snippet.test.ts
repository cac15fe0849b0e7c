import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HIDE_RULE } from '../../../src/dom/hideSheet';
import { SNIPPET } from '../../../src/loader/snippet';
import { QUEUED_KEY } from '../../../src/track/queuedCalls';
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
  /** Runs the snippet against a minimal window/document (enough for its fallback path, `<style>`). */
  function runSnippet(timeout: number) {
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
    const listeners: Record<string, () => void> = {};
    const stored = new Map<string, string>();
    const window: Record<string, unknown> = {
      addEventListener: (type: string, fn: () => void) => (listeners[type] = fn),
      sessionStorage: { getItem: (k: string) => stored.get(k) ?? null, setItem: (k: string, v: string) => void stored.set(k, v) },
    };
    new Function('window', 'document', 'performance', 'setTimeout', SNIPPET.replace(',300);', `,${timeout});`))(
      window,
      document,
      performance,
      setTimeout,
    );
    const q = window.edgePersonalize as unknown[] & { snippet: { timeout: number }; loaded?: boolean };
    return { q, appended, listeners, stored };
  }

  it('queues calls and shows the slots again when the SDK never arrives', async () => {
    const { q, appended } = runSnippet(5);
    expect(Array.isArray(q)).toBe(true);
    q.push(['track', 'view', { itemId: 'A' }]);
    expect(q).toHaveLength(1);
    expect(appended[0]!.textContent).toBe(HIDE_RULE);
    await new Promise((r) => setTimeout(r, 30));
    expect(appended[0]!.removed).toBe(true);
  });

  it('moves queued track calls, with their times, to sessionStorage when the page is left before the SDK arrived', () => {
    const { q, listeners, stored } = runSnippet(300);
    const before = Date.now();
    q.push(['init', { modelUrl: '/m.json' }]);
    q.push(['track', 'view', { itemId: 'A' }]);
    q.push(['track', 'click', { itemId: 'B' }]);
    stored.set(QUEUED_KEY, JSON.stringify([[1, 'view', { itemId: 'earlier page' }]]));
    listeners.pagehide!();
    const saved = JSON.parse(stored.get(QUEUED_KEY)!) as Array<[number, string, { itemId: string }]>;
    expect(saved.map(([, type, props]) => [type, props.itemId])).toEqual([
      ['view', 'earlier page'],
      ['view', 'A'],
      ['click', 'B'],
    ]);
    expect(saved[1]![0]).toBeGreaterThanOrEqual(before);
    // Moved, not copied: a page restored from the back/forward cache does not record them twice.
    expect(q.map((c) => (c as unknown[])[0])).toEqual(['init']);
    // Once the SDK has loaded, it owns the queue: nothing is saved.
    stored.clear();
    q.push(['track', 'view', { itemId: 'C' }]);
    q.loaded = true;
    listeners.pagehide!();
    expect(stored.size).toBe(0);
  });
});
