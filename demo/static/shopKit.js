// Helpers shared by the shop's page scripts (loaded first, with `defer`): building elements from
// text, waiting for the async SDK, calling it before it has loaded, and product names.
(function () {
  'use strict';

  /**
   * Builds an element; children are nodes or strings, and strings become text nodes (`append`),
   * never parsed as HTML: product names come from a real data set.
   */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      node.append(c);
    });
    return node;
  }

  /** The SDK object once its async script has run: before that, edgePersonalize is the snippet's queue (an array). */
  function loaded() {
    var ep = window.edgePersonalize;
    return ep && typeof ep.status === 'function' ? ep : null;
  }

  var sdkPromise = null;
  /**
   * Resolves with the SDK once it has loaded (init has run by then: the loader replays the
   * queued init synchronously). Never resolves if the script is blocked: callers show their
   * "waiting" text, which is then the truth.
   */
  function whenSdk() {
    sdkPromise =
      sdkPromise ||
      new Promise(function (resolve) {
        if (loaded()) return resolve(loaded());
        var script = document.querySelector('script[src$="/edge-personalize.js"]');
        if (script)
          script.addEventListener('load', function () {
            if (loaded()) resolve(loaded());
          });
      });
    return sdkPromise;
  }

  /** Calls an SDK method now, or queues it on the snippet's array to be replayed when the SDK loads. */
  function callSdk(method) {
    var args = Array.prototype.slice.call(arguments, 1);
    var ep = loaded();
    if (ep) return ep[method].apply(ep, args);
    (window.edgePersonalize = window.edgePersonalize || []).push([method].concat(args));
    return undefined;
  }

  var namesPromise = null;
  /** id → [name, category, price] from /api/catalogue.json (cached by the browser); {} when offline. */
  function names() {
    namesPromise =
      namesPromise ||
      fetch('/api/catalogue.json')
        .then(function (r) {
          return r.ok ? r.json() : {};
        })
        .catch(function () {
          return {};
        });
    return namesPromise;
  }

  window.demoShop = { el: el, whenSdk: whenSdk, callSdk: callSdk, names: names };
})();
