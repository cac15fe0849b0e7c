/**
 * The shop's pages, rendered on the server as plain HTML: the SDK then reorders the slots in the
 * browser, exactly as it would on a customer's server-rendered shop.
 */
import { alsoLikeCandidates, recommendedCandidates, type Catalogue, type Category, type Product } from './catalogue';
import { html } from './html';
import { layout } from './layout';
import { categoryLink, formatPrice, productArt, productSlot } from './tiles';

/** How many tiles each slot shows; the rest are candidates the model may bring forward. */
export const VISIBLE = { recommended: 8, shelf: 4, alsoLike: 4 } as const;
/** Categories with a shelf on the home page, and how many bestsellers a category page lists. */
const HOME_SHELVES = 6;
const CATEGORY_PAGE_SIZE = 48;

/**
 * `/`: the "Recommended for you" slot (each tile with "Why this item?", see `/static/why.js`),
 * then a shelf (itself a slot) per top category.
 */
export function homePage(cat: Catalogue): string {
  const recommended = recommendedCandidates(cat);
  const taken = new Set(recommended.map((p) => p.id));
  const shelves = cat.categories.slice(0, HOME_SHELVES).map((c) => {
    const products = c.products.filter((p) => !taken.has(p.id)).slice(0, 2 * VISIBLE.shelf);
    return html`<section class="shelf">
      <div class="shelf-head">
        <h2><a href="/category/${c.slug}">${c.name}</a></h2>
        <a href="/category/${c.slug}">See all ${c.products.length} →</a>
      </div>
      ${productSlot(cat, `home-${c.slug}`, products, { visible: VISIBLE.shelf })}
    </section>`;
  });
  const main = html`<section class="hero">
      <h1>Recommended for you</h1>
      <p class="muted">
        ${recommended.length} bestsellers from every category are candidates here; the session model in your browser picks the
        ${VISIBLE.recommended} you see. Open a few products of one category, then come back.
      </p>
    </section>
    ${productSlot(cat, 'recommended', recommended, { visible: VISIBLE.recommended, why: true })} ${shelves}`;
  return layout(cat, { title: 'Home', main, scripts: ['/static/why.js'] }).value;
}

/** `/category/<slug>`: the category's bestsellers, one slot. */
export function categoryPage(cat: Catalogue, category: Category): string {
  const products = category.products.slice(0, CATEGORY_PAGE_SIZE);
  const main = html`<nav class="crumbs"><a href="/">Home</a> › ${category.name}</nav>
    <h1>${category.name}</h1>
    <p class="muted">
      The ${products.length} bestsellers of ${category.products.length} products, in the order the model prefers for this session.
    </p>
    ${productSlot(cat, `category-${category.slug}`, products)}`;
  return layout(cat, { title: category.name, main }).value;
}

/**
 * `/product/<id>`: `data-personalize-view` records the view; the "Add to cart" button sits inside
 * `data-personalize-item` with `data-personalize-event="add_to_cart"`, so the SDK records an
 * add-to-cart (not a click), and `/static/cart.js` puts it in the cart.
 */
export function productPage(cat: Catalogue, product: Product): string {
  const main = html`<nav class="crumbs"><a href="/">Home</a> › ${categoryLink(product)} › ${product.name}</nav>
    <article class="product" data-personalize-view="${product.id}">
      ${productArt(cat, product, 'large')}
      <div class="product-info">
        <h1>${product.name}</h1>
        <p class="product-category">${categoryLink(product)}</p>
        <p class="product-price">${formatPrice(product.price)}</p>
        <div class="buy" data-personalize-item="${product.id}">
          <button type="button" class="button" data-add-to-cart="${product.id}" data-personalize-event="add_to_cart">Add to cart</button>
          <span class="cart-status" data-cart-status aria-live="polite"></span>
        </div>
        <p class="muted">Item ${product.id} · in ${product.popularity.toLocaleString('en-GB')} baskets of the data set.</p>
      </div>
    </article>
    <section class="shelf">
      <div class="shelf-head"><h2>You may also like</h2></div>
      ${productSlot(cat, 'also-like', alsoLikeCandidates(cat, product), { visible: VISIBLE.alsoLike })}
    </section>`;
  return layout(cat, { title: product.name, main }).value;
}

/** `/cart`: filled in the browser from localStorage by `/static/cartPage.js`. */
export function cartPage(cat: Catalogue): string {
  const main = html`<h1>Your cart</h1>
    <div class="cart" data-cart-view><p class="muted">Loading your cart…</p></div>
    <div class="checkout">
      <button type="button" class="button" data-buy disabled>Buy</button>
      <span class="cart-status" data-buy-status aria-live="polite"></span>
    </div>
    <p class="muted">Buying records one <code>purchase</code> event per item in this browser's IndexedDB; nothing is sent anywhere.</p>`;
  return layout(cat, { title: 'Cart', main, scripts: ['/static/cartPage.js'] }).value;
}

/** Unknown product, category or path (served with HTTP 404). */
export function notFoundPage(cat: Catalogue, what: string): string {
  const main = html`<h1>Not found</h1>
    <p>${what}</p>
    <p><a href="/">Back to the shop</a></p>`;
  return layout(cat, { title: 'Not found', main }).value;
}
