import type { Catalogue } from './catalogue';
import { consentBanner } from './consentBanner';
import { html, type SafeHtml } from './html';
import { sdkInstall } from './sdkInstall';

/** One page's own parts; the layout adds the head, header, footer and the panel. */
export interface PageParts {
  title: string;
  /** The main content. */
  main: SafeHtml;
  /** Extra page scripts from `/static/` (the cart page's renderer, the privacy page's). */
  scripts?: string[];
}

/**
 * The shell shared by every page. The panel is `position: fixed` with a fixed height and the body
 * keeps room for it, so opening, closing or filling it never moves the page (no layout shift); the
 * consent banner is fixed too. The SDK starts with the site default `pending`: it records nothing
 * until the shopper allows it (banner or `/privacy`).
 */
export function layout(cat: Catalogue, page: PageParts): SafeHtml {
  const nav = cat.categories.map((c) => html`<a href="/category/${c.slug}">${c.name}</a>`);
  // Deferred scripts run in order: shopKit.js first, the others use its helpers.
  const scripts = ['/static/shopKit.js', '/static/cart.js', '/static/consent.js', '/static/panel.js', ...(page.scripts ?? [])];
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <link rel="icon" href="data:," />
        <title>${page.title} · Demo shop</title>
        ${sdkInstall({ consent: 'pending' })}
        <link rel="stylesheet" href="/static/shop.css" />
        ${scripts.map((src) => html`<script defer src="${src}"></script>`)}
      </head>
      <body>
        <header class="top">
          <div class="top-row">
            <a class="brand" href="/">Retail<span>demo</span></a>
            <p class="tagline">Personalized in your browser by edge-personalize</p>
            <a class="privacy-link" href="/privacy">Your data</a>
            <a class="cart-link" href="/cart">Cart <span class="cart-count" data-cart-count>0</span></a>
          </div>
          <nav class="categories" aria-label="Categories">${nav}</nav>
        </header>
        ${consentBanner()}
        <main class="page">${page.main}</main>
        <footer class="credit">
          <p>Products, prices and baskets: ${cat.credit}.</p>
          <p>
            A demo of edge-personalize: not a real shop, nothing is sold. What you view and buy stays in this browser. With your consent it
            downloads model versions and uploads clipped, noised model updates (never your events) to this shop's aggregation server.
            <a href="/privacy">Your data &amp; privacy</a>
          </p>
        </footer>
        ${panel()}
      </body>
    </html>`;
}

/** The panel's skeleton; `/static/panel.js` fills it from `edgePersonalize.status()`. */
function panel(): SafeHtml {
  return html`<aside class="panel" id="panel" aria-label="How personalization works here">
    <div class="panel-bar">
      <button type="button" class="panel-toggle" aria-expanded="true" aria-controls="panel-body">How personalization works here</button>
      <span class="panel-summary" data-panel="summary">Waiting for the SDK…</span>
    </div>
    <div class="panel-body" id="panel-body">
      <section>
        <h2>Backend &amp; model</h2>
        <dl data-panel="backend"></dl>
      </section>
      <section>
        <h2>Timings (ms)</h2>
        <dl data-panel="timings"></dl>
      </section>
      <section>
        <h2>This session, as the model read it</h2>
        <ol data-panel="session"></ol>
        <p class="muted" data-panel="events"></p>
      </section>
      <section>
        <h2>The model's top picks</h2>
        <ol data-panel="picks"></ol>
        <ul class="errors" data-panel="errors"></ul>
      </section>
    </div>
  </aside>`;
}
