import { SNIPPET } from '../../src/loader/snippet';
import { html, raw, type SafeHtml } from './html';

/** What the shop passes to the SDK's `init`, as a customer would write it. */
export interface SdkInstallOptions {
  /**
   * The site's default. The shop passes `pending`: nothing is recorded until the shopper answers
   * the consent banner, whose choice the SDK remembers and puts above this default.
   */
  consent: 'granted' | 'denied' | 'pending';
}

/** Where the shop serves the SDK and the model (see the mounts in `demo/serve.ts`). */
export const SDK_URL = '/sdk/edge-personalize.js';
export const MODEL_URL = '/models/online-retail/model.json';

/**
 * The `<head>` markup that installs the SDK exactly as the README tells a customer to: the public
 * snippet, the `init` call on its queue, then the SDK itself with `async` so it never blocks the
 * page. It must come before the slots are parsed: the snippet hides them until they are ranked.
 * The shopper's answer reaches the SDK through `edgePersonalize.consent()` (`/static/consent.js`).
 */
export function sdkInstall(options: SdkInstallOptions): SafeHtml {
  // updateEndpoint turns federated learning on: the aggregation server is mounted at /fl (serve.ts).
  const config = JSON.stringify({ modelUrl: MODEL_URL, updateEndpoint: '/fl', consent: options.consent, debug: true });
  // Both strings are ours (the snippet constant and JSON of fixed values): no data inside <script>.
  return html`<script>
      ${raw(SNIPPET)};
      edgePersonalize.push(['init', ${raw(config)}]);
    </script>
    <script async src="${SDK_URL}"></script>`;
}
