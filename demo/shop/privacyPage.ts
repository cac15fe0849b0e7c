/**
 * `/privacy`: what this shop knows about the shopper, and the controls. The server sends the
 * shell and everything that is true for every shopper (what is never uploaded); what is true
 * for *this* browser (its consent, its stored events, its uploads) exists only in the browser,
 * so `/static/privacy.js` fills it in from the SDK's `status()` and `exportData()`.
 */
import type { Catalogue } from './catalogue';
import { html } from './html';
import { layout } from './layout';

/** The page, rendered once per request (it holds no shopper data). */
export function privacyPage(cat: Catalogue): string {
  const main = html`<h1>Your data and this shop</h1>
    <p class="lede">
      Personalization here runs inside your browser: what you view and buy is stored on this device, a small model on this device reorders
      the products, and this page shows all of it.
    </p>

    <section class="privacy-section" aria-labelledby="privacy-consent">
      <h2 id="privacy-consent">Your choice</h2>
      <p class="privacy-verdict" data-privacy="verdict">Reading your choice…</p>
      <dl class="facts" data-privacy="consent"></dl>
      <div class="privacy-actions">
        <button type="button" class="button" data-consent-choice="granted">Allow</button>
        <button type="button" class="button secondary" data-consent-choice="denied">Deny</button>
      </div>
    </section>

    <section class="privacy-section" aria-labelledby="privacy-stored">
      <h2 id="privacy-stored">What is stored on this device</h2>
      <p>
        <strong data-privacy="event-count">–</strong> events, <strong data-privacy="session-count">–</strong> sessions.
        <span class="muted" data-privacy="stored-detail"></span>
      </p>
      <ul class="counts" data-privacy="by-type"></ul>
      <div class="privacy-actions">
        <button type="button" class="button" data-privacy-download>Download my data (JSON)</button>
        <button type="button" class="button danger" data-privacy-erase>Erase everything</button>
        <span class="cart-status" data-privacy="action-status" aria-live="polite"></span>
      </div>
      <div class="table-wrap">
        <table class="data-table" data-privacy="events">
          <caption>
            Every stored event, newest first
          </caption>
          <thead>
            <tr>
              <th>Time</th>
              <th>Type</th>
              <th>Product</th>
              <th>Session</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody></tbody>
        </table>
      </div>
    </section>

    <section class="privacy-section" aria-labelledby="privacy-uploads">
      <h2 id="privacy-uploads">What was uploaded</h2>
      <div data-privacy="uploads"><p class="muted">Reading the upload log…</p></div>
      <h3>Never uploaded</h3>
      <ul>
        <li>your events: which products you viewed, clicked, put in your cart or bought;</li>
        <li>when you did any of it, and your session ids;</li>
        <li>the model's state for your session, or anything else that names a product.</li>
      </ul>
      <p class="muted">
        An upload holds only a change to the shared model's weights, its size capped (clip norm) and blurred with random noise (σ) before it
        leaves the browser. ε bounds how much the published models can reveal about any one shopper's contributions (per round and added up
        over all rounds): smaller is more private.
      </p>
    </section>

    <section class="privacy-section" aria-labelledby="privacy-budget">
      <h2 id="privacy-budget">The shop's privacy budget</h2>
      <p class="muted">
        Reported by this shop's aggregation server (<code>/fl/v1/status</code>), which keeps no identifier and no event: only noised updates
        (under secure aggregation, only its share of each), summed into new model versions.
      </p>
      <dl class="facts" data-privacy="budget">
        <dt>Status</dt>
        <dd>Reading…</dd>
      </dl>
    </section>`;
  return layout(cat, { title: 'Your data', main, scripts: ['/static/privacy.js'] }).value;
}
