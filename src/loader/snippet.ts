import { QUEUED_KEY } from '../track/queuedCalls';

/**
 * The install snippet a site pastes into `<head>`, before the SDK's `async` script tag. It:
 * 1. creates the `edgePersonalize` queue, so calls made before the SDK arrives
 *    (`edgePersonalize.push(['track', 'view', { itemId }])`) are kept and replayed in order;
 * 2. hides the slots (`visibility`, space kept) so they never show their original order and then
 *    jump; a constructed stylesheet passes a strict CSP, a `<style>` is the fallback;
 * 3. shows them again after `timeout` ms if the SDK has not taken over by then (blocked,
 *    offline, slow), so a failure costs at most that wait and never the page's content;
 * 4. stamps each queued call with its time (`call.t`) and, when the page is left (`pagehide`)
 *    before the SDK arrived, moves the queued `track` calls to `sessionStorage` as
 *    `[[time, type, props], …]` under {@link QUEUED_KEY}; the next page's SDK in the tab records
 *    them (`takeQueuedCalls`). Moved, not copied: a page restored from the back/forward cache
 *    keeps its other calls and does not record the moved ones twice.
 * The SDK reads `q.snippet` (`sheet`, `t0`, `timeout`, `timer`) when it loads.
 */
export const SNIPPET = `(function(w,d,n,t){var q=w[n]=w[n]||[];if(!q.push||q.snippet)return;var c='${'[data-personalize-slot]:not([data-personalize-shown]){visibility:hidden}'}',h,P=q.push;q.push=function(a){a&&(a.t=Date.now());return P.apply(q,arguments)};w.addEventListener('pagehide',function(){if(q.loaded)return;try{var s=w.sessionStorage,k='${QUEUED_KEY}',o=JSON.parse(s.getItem(k)||'[]'),r=[],i,a;for(i=0;i<q.length;i++){a=q[i];a&&a[0]=='track'?o.push([a.t,a[1],a[2]]):r.push(a)}s.setItem(k,JSON.stringify(o));q.length=0;P.apply(q,r)}catch(e){}});try{h=new CSSStyleSheet();h.replaceSync(c);d.adoptedStyleSheets=d.adoptedStyleSheets.concat(h)}catch(e){h=d.createElement('style');h.textContent=c;d.head.appendChild(h)}q.snippet={sheet:h,t0:performance.now(),timeout:t,timer:setTimeout(function(){if(q.loaded)return;try{h.replaceSync?h.replaceSync(''):h.remove()}catch(e){}},t)}})(window,document,'edgePersonalize',300);`;

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
