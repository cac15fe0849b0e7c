// "How personalization works here": once the SDK has loaded, reads edgePersonalize.status() every
// second (and topPicks(8) when the session changed) and shows what the SDK does in this browser.
// Data is rendered with DOM APIs and textContent only: item names come from a real data set.
(function () {
  'use strict';
  var panel = document.getElementById('panel');
  if (!panel) return;
  var toggle = panel.querySelector('.panel-toggle');
  var part = function (name) {
    return panel.querySelector('[data-panel="' + name + '"]');
  };
  var OPEN_KEY = 'demo-shop-panel-open';
  /** @type {Record<string, [string, string, number]>} */
  var names = {};
  var picks = [];
  var picksKey = '';

  // Wide screens show the panel as a column beside the page (open unless closed); narrow ones as a
  // bar at the bottom (closed unless opened), so by default it covers none of the page's controls.
  var wide = window.matchMedia('(min-width: 75rem)');
  function isOpen() {
    return wide.matches ? !panel.classList.contains('closed') : panel.classList.contains('open');
  }
  function show(open) {
    panel.classList.toggle('open', open);
    panel.classList.toggle('closed', !open);
    toggle.setAttribute('aria-expanded', String(open));
  }
  toggle.addEventListener('click', function () {
    var open = !isOpen();
    show(open);
    try {
      localStorage.setItem(OPEN_KEY, open ? '1' : '0');
    } catch (e) {
      /* blocked storage: not remembered */
    }
  });
  var remembered = null;
  try {
    remembered = localStorage.getItem(OPEN_KEY);
  } catch (e) {
    /* the default applies */
  }
  if (remembered === '1' || remembered === '0') show(remembered === '1');
  else toggle.setAttribute('aria-expanded', String(isOpen()));
  wide.addEventListener('change', function () {
    if (!panel.classList.contains('open') && !panel.classList.contains('closed')) toggle.setAttribute('aria-expanded', String(isOpen()));
  });

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
  function ms(v) {
    return v === null || v === undefined ? '–' : v.toFixed(1);
  }
  function itemLink(id) {
    var name = names[id] ? names[id][0] : id;
    return el('a', { href: '/product/' + encodeURIComponent(id), title: names[id] ? names[id][1] : '' }, [name]);
  }
  function pairs(target, list) {
    target.replaceChildren.apply(
      target,
      list.flatMap(function (p) {
        return [el('dt', {}, [p[0]]), el('dd', {}, [String(p[1])])];
      }),
    );
  }

  function render(st) {
    var w = st.worker;
    // Until the Worker has read this browser's history, say so (not "no session, 0 stored").
    var starting = st.consent.state === 'granted' && !(w && w.ready);
    var backend = w && w.backend;
    pairs(part('backend'), [
      ['Consent', st.consent.state + ' (' + st.consent.reason + ')'],
      ['Backend', backend ? backend.name : w ? 'choosing…' : 'not started'],
      ['Why', backend ? backend.reason : '–'],
      ['Model', w && w.modelVersion ? w.modelVersion : '–'],
      ['Items', w && w.modelItems ? w.modelItems.toLocaleString('en-GB') : '–'],
      ['Loaded from', w && w.timings.modelSource ? w.timings.modelSource : '–'],
      ['Slots', st.slots.ranked + ' reordered, ' + st.slots.kept + ' kept'],
    ]);
    var t = w ? w.timings : {};
    pairs(part('timings'), [
      ['ML runtime load', ms(t.runtimeLoadMs)],
      ['Backend init', ms(t.backendInitMs)],
      ['Model fetch', ms(t.modelFetchMs) + (t.modelSource ? ' (' + t.modelSource + ')' : '')],
      ['Model build', ms(t.modelBuildMs)],
      ['Session restore', ms(t.sessionRestoreMs)],
      ['Last slot ranking', ms(t.lastRankMs)],
      ['Last model step', ms(t.lastAdvanceMs)],
      ['Slots decided at', st.firstRankedAt === null ? '–' : ms(st.firstRankedAt) + ' after navigation'],
    ]);
    var session = w && w.session;
    var items = session ? session.items : [];
    part('session').replaceChildren.apply(
      part('session'),
      items.map(function (id) {
        return el('li', {}, [itemLink(id)]);
      }),
    );
    part('events').textContent = starting
      ? "Reading this browser's history…"
      : st.consent.state !== 'granted'
        ? 'Personalization is off: nothing is recorded.'
        : (session ? session.eventCount + ' events in this session, ' : 'No session yet: open a product. ') +
          w.storedEvents +
          ' stored in this browser (IndexedDB).';
    part('picks').replaceChildren.apply(
      part('picks'),
      picks.map(function (p) {
        return el('li', {}, [itemLink(p.itemId), ' ', el('span', { class: 'muted' }, [p.score.toFixed(2)])]);
      }),
    );
    var errors = w ? w.errors : [];
    part('errors').replaceChildren.apply(
      part('errors'),
      errors.map(function (e) {
        return el('li', {}, [e.name + ': ' + e.message]);
      }),
    );
    part('summary').textContent = [
      backend ? 'Backend ' + backend.name : starting ? 'Loading the model…' : 'Personalization off (' + st.consent.state + ')',
      starting || st.consent.state !== 'granted' ? null : session ? 'session of ' + items.length + ' items' : 'no session yet',
      picks[0] ? 'top pick: ' + (names[picks[0].itemId] ? names[picks[0].itemId][0] : picks[0].itemId) : null,
      errors.length ? errors.length + ' errors' : null,
    ]
      .filter(Boolean)
      .join(' · ');
  }

  async function tick() {
    var ep = window.edgePersonalize;
    // Before the async SDK script runs, edgePersonalize is the snippet's queue (an array).
    if (!ep || typeof ep.status !== 'function') return;
    var st = await ep.status();
    var session = st.worker && st.worker.ready ? st.worker.session : null;
    // Off (denied, erased) or not started: no picks are shown, and the next start asks again.
    if (!(st.worker && st.worker.ready)) {
      picks = [];
      picksKey = '';
    }
    // Scoring the catalogue is not free: ask again only when the session moved on.
    var key = session ? session.id + ':' + session.eventCount + ':' + session.lastAt : st.worker && st.worker.ready ? 'ready' : '';
    if (key && key !== picksKey) {
      picks = await ep.topPicks(8);
      picksKey = key;
    }
    render(st);
  }

  function loop() {
    tick()
      .catch(function (e) {
        part('summary').textContent = 'Panel: ' + (e && e.message ? e.message : String(e));
      })
      .then(function () {
        setTimeout(loop, 1000);
      });
  }

  fetch('/api/catalogue.json')
    .then(function (r) {
      return r.ok ? r.json() : {};
    })
    .then(function (data) {
      names = data;
    })
    .catch(function () {
      /* names fall back to ids */
    })
    .then(function () {
      picksKey = '';
    });
  loop();
})();
