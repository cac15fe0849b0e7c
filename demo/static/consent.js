// The consent banner, and every "Allow" / "Deny" button of the shop ([data-consent-choice]).
// The SDK decides what is in effect (Global Privacy Control and Do Not Track > the shopper's
// remembered choice > the site's default) and tells the page through the
// `edge-personalize:consent` event; this script only asks and passes the answer on.
(function () {
  'use strict';
  var banner = document.querySelector('[data-consent-banner]');

  /**
   * The banner asks only while the consent in effect is the site's default: once the shopper
   * chose (remembered on the device), or the browser sends GPC/DNT (a "no" the site must honour
   * whatever the shopper clicks), there is nothing left to ask.
   */
  function update(consent) {
    if (banner) banner.hidden = consent.source !== 'site';
  }

  function refresh() {
    return window.demoShop
      .whenSdk()
      .then(function (sdk) {
        return sdk.status();
      })
      .then(function (st) {
        update(st.consent);
      })
      .catch(function () {
        /* status() failed: leave the banner as it is */
      });
  }

  document.addEventListener('click', function (e) {
    var button = e.target instanceof Element ? e.target.closest('[data-consent-choice]') : null;
    if (!button) return;
    // Queued on the snippet's array when the SDK has not loaded yet; it is replayed after init.
    window.demoShop.callSdk('consent', button.getAttribute('data-consent-choice'));
    if (banner) banner.hidden = true; // the shopper chose: even if GPC overrides it, stop asking
  });

  // Fired when the consent in effect changes: a choice here or on /privacy, or eraseData()
  // forgetting the choice (the banner then asks again).
  window.addEventListener('edge-personalize:consent', refresh);
  refresh();
})();
