import { html, type SafeHtml } from './html';

/**
 * The consent banner on every page. It is `position: fixed` (above the panel), so showing or
 * hiding it never moves the page, and it is rendered `hidden`: `/static/consent.js` shows it once
 * the SDK says nobody has decided yet (no choice remembered on the device, no Global Privacy
 * Control or Do Not Track, which already answer the question). Asking the SDK rather than
 * re-reading localStorage here keeps one consent state machine, the SDK's.
 */
export function consentBanner(): SafeHtml {
  return html`<div class="consent-banner" data-consent-banner role="region" aria-label="Personalization choice" hidden>
    <p>Personalize this shop on your device? Nothing you do leaves your browser.</p>
    <div class="consent-actions">
      <button type="button" class="button" data-consent-choice="granted">Allow</button>
      <button type="button" class="button secondary" data-consent-choice="denied">No thanks</button>
      <a href="/privacy">Learn more →</a>
    </div>
  </div>`;
}
