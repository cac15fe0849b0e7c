/**
 * The install snippet a site pastes into `<head>`, before the SDK's `async` script tag. It:
 * 1. creates the `edgePersonalize` queue, so calls made before the SDK arrives
 *    (`edgePersonalize.push(['track', 'view', { itemId }])`) are kept and replayed in order;
 * 2. hides the slots (`visibility`, space kept) so they never show their original order and then
 *    jump; a constructed stylesheet passes a strict CSP, a `<style>` is the fallback;
 * 3. shows them again after `timeout` ms if the SDK has not taken over by then (blocked,
 *    offline, slow), so a failure costs at most that wait and never the page's content.
 * The SDK reads `q.snippet` (`sheet`, `t0`, `timeout`, `timer`) when it loads.
 */
export const SNIPPET = `(function(w,d,n,t){var q=w[n]=w[n]||[];if(!q.push||q.snippet)return;var c='${'[data-personalize-slot]:not([data-personalize-shown]){visibility:hidden}'}',h;try{h=new CSSStyleSheet();h.replaceSync(c);d.adoptedStyleSheets=d.adoptedStyleSheets.concat(h)}catch(e){h=d.createElement('style');h.textContent=c;d.head.appendChild(h)}q.snippet={sheet:h,t0:performance.now(),timeout:t,timer:setTimeout(function(){if(q.loaded)return;try{h.replaceSync?h.replaceSync(''):h.remove()}catch(e){}},t)}})(window,document,'edgePersonalize',300);`;

/** What the snippet leaves on the queue for the SDK. */
export interface SnippetState {
  sheet: CSSStyleSheet | HTMLStyleElement;
  /** `performance.now()` when the snippet ran. */
  t0: number;
  timeout: number;
  timer: ReturnType<typeof setTimeout>;
}

/** The global queue before the SDK loads. */
export type StubQueue = unknown[] & { snippet?: SnippetState; loaded?: boolean };
