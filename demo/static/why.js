// "Why this item?" on the home page's recommended tiles: asks edgePersonalize.explain(itemId) and
// names the session items that raised the item's score most (leave-one-out, computed in the
// SDK's Worker), in a note drawn over the tile's picture (the tile keeps its size).
(function () {
  'use strict';
  var kit = window.demoShop;
  var TOP = 3;

  function close(why) {
    why.querySelector('.why-note').hidden = true;
    why.querySelector('.why-button').setAttribute('aria-expanded', 'false');
  }

  /** The sentence for an explanation (null: no session, or personalization off). */
  function sentence(explanation, consent, names) {
    if (consent.state !== 'granted') return 'Personalization is off, so this is the shop\'s own order. Change it on the "Your data" page.';
    if (!explanation) return 'Popular in the shop — no personal history yet.';
    var seen = {};
    var top = explanation.influences
      .filter(function (i) {
        // A product viewed twice appears twice in the session: name it once.
        var keep = i.influence > 0 && !seen[i.itemId];
        seen[i.itemId] = true;
        return keep;
      })
      .slice(0, TOP);
    if (top.length === 0) return 'Popular in the shop — nothing you viewed raised it.';
    return (
      'Because you viewed: ' +
      top
        .map(function (i) {
          return names[i.itemId] ? names[i.itemId][0] : i.itemId;
        })
        .join(', ') +
      '.'
    );
  }

  async function open(why) {
    var note = why.querySelector('.why-note');
    var button = why.querySelector('.why-button');
    document.querySelectorAll('[data-why]').forEach(function (other) {
      if (other !== why) close(other);
    });
    note.replaceChildren('Asking the model on this device…');
    note.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    try {
      var sdk = await kit.whenSdk();
      var st = await sdk.status();
      var explanation = st.consent.state === 'granted' ? await sdk.explain(why.getAttribute('data-why')) : null;
      note.replaceChildren(sentence(explanation, st.consent, await kit.names()));
    } catch (e) {
      note.replaceChildren('No explanation: ' + (e && e.message ? e.message : String(e)));
    }
  }

  // The SDK records every click inside [data-personalize-item] from a capture listener on
  // `document`. Capture listeners on `window` run before those on `document` (the event path
  // starts at the window: https://dom.spec.whatwg.org/#concept-event-dispatch), so stopping the
  // event here keeps "why?" from counting as interest in the product. It does not prevent the
  // button's default action, and nothing inside [data-why] is a link.
  window.addEventListener(
    'click',
    function (e) {
      var why = e.target instanceof Element ? e.target.closest('[data-why]') : null;
      if (!why) {
        document.querySelectorAll('[data-why]').forEach(close); // a click elsewhere closes the notes
        return;
      }
      e.stopPropagation();
      if (!e.target.closest('.why-button')) return; // clicks on the note itself keep it open
      if (why.querySelector('.why-note').hidden) void open(why);
      else close(why);
    },
    true,
  );

  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') document.querySelectorAll('[data-why]').forEach(close);
  });
})();
