/**
 * The parts of the scratch apps that are not the README's: pages, test hooks, build configs.
 * The README's snippets (`src/main.js`, `src/RecommendedList.jsx`) are written beside them as
 * they are.
 */
import { readFileSync } from 'node:fs';

export interface Product {
  id: string;
  name: string;
  category: string;
}

/** The recs fixture's products (8 categories of the demo catalogue, interleaved). */
export function fixtureProducts(recsHtml: string): Product[] {
  const html = readFileSync(recsHtml, 'utf8');
  return [...html.matchAll(/data-personalize-item="([^"]+)" data-category="([^"]+)"[^>]*>([^<]+)</g)].map((m) => ({
    id: m[1]!,
    category: m[2]!.replace('&amp;', '&'),
    name: m[3]!,
  }));
}

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** A page with one slot of the products; `scripts` are the app's module entries. */
export function slotPage(products: Product[], scripts: string[]): string {
  const tiles = products
    .map((p) => `    <a data-personalize-item="${escape(p.id)}" data-category="${escape(p.category)}" href="#">${escape(p.name)}</a>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>consumer app</title></head>
<body>
  <div id="recs" data-personalize-slot="recommended">
${tiles}
  </div>
${scripts.map((s) => `  <script type="module" src="${s}"></script>`).join('\n')}
</body>
</html>
`;
}

/** Hands the SDK (the same module the README's main.js imports) to the test. */
export const HARNESS_JS = `import * as sdk from 'edge-personalize';
window.harness = sdk;
`;

export const ROLLUP_CONFIG = `import { nodeResolve } from '@rollup/plugin-node-resolve';

export default {
  input: ['src/main.js', 'src/harness.js'],
  output: { dir: 'dist', format: 'es' },
  plugins: [nodeResolve({ browser: true })],
};
`;

/**
 * The React app's page. Before React loads, a stand-in for the React DevTools hook is installed:
 * React calls it at the end of every commit, where the mutations React just made are taken out
 * of a MutationObserver over the body. Whatever the observer still receives was done by someone
 * else (the SDK): \`window.__foreign\`.
 */
export const REACT_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>consumer React app</title></head>
<body>
  <div id="root"></div>
  <script>
    window.__foreign = [];
    window.__reactMutations = 0;
    const observer = new MutationObserver((records) => {
      for (const r of records) window.__foreign.push(r.type + ' ' + (r.target.id || r.target.nodeName) + ' ' + (r.attributeName || ''));
    });
    observer.observe(document.getElementById('root'), { childList: true, subtree: true, attributes: true });
    window.__REACT_DEVTOOLS_GLOBAL_HOOK__ = {
      supportsFiber: true,
      renderers: new Map(),
      inject() { return 1; },
      onCommitFiberRoot() { window.__reactMutations += observer.takeRecords().length; },
      onCommitFiberUnmount() {},
      onPostCommitFiberRoot() {},
      checkDCE() {},
    };
  </script>
  <script type="module" src="/src/main.jsx"></script>
</body>
</html>
`;

export const REACT_VITE_CONFIG = `import react from '@vitejs/plugin-react';

export default { plugins: [react()], build: { minify: false } };
`;

/** The React app: README's main.js starts the SDK; a home page with two hook-ranked lists (one far below the fold) and product pages. */
export const REACT_MAIN = `import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import * as sdk from 'edge-personalize';
import './main.js';
import { App } from './App.jsx';

window.harness = sdk;
createRoot(document.getElementById('root')).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
`;

export const reactApp = (products: Product[]): string => `import { RecommendedList } from './RecommendedList.jsx';

const PRODUCTS = ${JSON.stringify(products)};

export function App() {
  const path = location.pathname;
  if (path.startsWith('/product/')) {
    const id = decodeURIComponent(path.slice('/product/'.length));
    return (
      <main data-personalize-view={id}>
        <h1>{id}</h1>
      </main>
    );
  }
  return (
    <>
      <div id="top">
        <RecommendedList products={PRODUCTS} />
      </div>
      <div style={{ height: 4000 }} />
      <div id="below">
        <RecommendedList products={PRODUCTS} />
      </div>
    </>
  );
}
`;
