// /privacy: fills the server's shell with what is true for this browser, from the SDK itself:
// status() for the consent in effect and the upload log, exportData() for every stored record.
// Everything is rendered with DOM APIs and text nodes only (product names come from a real data
// set, stored events from this device: neither is ever parsed as HTML).
(function () {
  'use strict';
  var kit = window.demoShop;
  var el = kit.el;
  var part = function (name) {
    return document.querySelector('[data-privacy="' + name + '"]');
  };
  var when = function (ms) {
    return new Date(ms).toLocaleString('en-GB');
  };

  /** Who decided the consent in effect, in the shopper's words. */
  var SOURCE = {
    gpc: 'Global Privacy Control, sent by your browser',
    dnt: 'Do Not Track, sent by your browser',
    shopper: 'you, on this device',
    site: "the shop's default (you have not chosen yet)",
  };

  /** One sentence for the consent in effect; `record` is the choice remembered on the device. */
  function verdict(consent, record) {
    if (consent.source === 'gpc' || consent.source === 'dnt') {
      var signal = consent.source === 'gpc' ? 'Global Privacy Control' : 'Do Not Track';
      return (
        'Your browser sends ' +
        signal +
        ': personalization is off. The shop honours it, whatever you choose below' +
        (record && record.state === 'granted' ? ' (your "Allow" is remembered, but your browser\'s signal wins).' : '.')
      );
    }
    if (consent.state === 'granted') return 'Personalization is on: what you view and buy is recorded in this browser, and only here.';
    if (consent.source === 'shopper' && consent.state === 'denied') return 'You said no: personalization is off and nothing is recorded.';
    return 'You have not chosen yet: personalization is off and nothing is recorded until you allow it.';
  }

  function renderConsent(consent, record) {
    part('verdict').textContent = verdict(consent, record);
    var facts = [
      ['In effect', consent.state],
      ['Decided by', SOURCE[consent.source] || consent.source],
      ['The SDK says', consent.reason],
      ['Your remembered choice', record ? record.state + ', ' + when(record.at) : 'none'],
    ];
    part('consent').replaceChildren.apply(
      part('consent'),
      facts.flatMap(function (f) {
        return [el('dt', {}, [f[0]]), el('dd', {}, [f[1]])];
      }),
    );
    document.querySelectorAll('.privacy-section [data-consent-choice]').forEach(function (b) {
      b.setAttribute('aria-pressed', String(!!record && record.state === b.getAttribute('data-consent-choice')));
    });
  }

  function plural(n, one, many) {
    return n + ' ' + (n === 1 ? one : many);
  }

  function renderStored(data, names) {
    var stores = data.indexedDB;
    var events = (stores.events || []).slice().sort(function (a, b) {
      return b.at - a.at || b.id - a.id;
    });
    part('event-count').textContent = String(events.length);
    part('session-count').textContent = String((stores.sessions || []).length);
    var byType = {};
    events.forEach(function (e) {
      byType[e.type] = (byType[e.type] || 0) + 1;
    });
    part('by-type').replaceChildren.apply(
      part('by-type'),
      Object.keys(byType)
        .sort()
        .map(function (type) {
          return el('li', {}, [el('strong', {}, [String(byType[type])]), ' ', type]);
        }),
    );
    // Everything else the export holds, so that nothing on the device goes unmentioned.
    var other = Object.keys(stores)
      .filter(function (s) {
        return s !== 'events' && s !== 'sessions';
      })
      .map(function (s) {
        return plural(stores[s].length, 'bookkeeping record', 'bookkeeping records') + ' ("' + s + '")';
      });
    var pending = data.webStorage['edge-personalize.pending'];
    if (Array.isArray(pending) && pending.length)
      other.push(plural(pending.length, 'event', 'events') + ' of this tab waiting to be stored (sessionStorage)');
    if (data.webStorage['edge-personalize.consent']) other.push('your choice (localStorage)');
    part('stored-detail').textContent = other.length ? 'Also: ' + other.join('; ') + '.' : 'Nothing else.';

    var rows = events.map(function (e) {
      var name = names[e.itemId] ? names[e.itemId][0] : e.itemId;
      var session = String(e.sessionId || '');
      return el('tr', {}, [
        el('td', {}, [when(e.at)]),
        el('td', {}, [e.type]),
        el('td', {}, [el('a', { href: '/product/' + encodeURIComponent(e.itemId) }, [name])]),
        el('td', { title: session }, [session.slice(0, 8) + (session.length > 8 ? '…' : '')]),
        el('td', { class: 'muted' }, [e.props ? JSON.stringify(e.props) : '']),
      ]);
    });
    if (rows.length === 0) rows = [el('tr', {}, [el('td', { colspan: '5', class: 'muted' }, ['No events stored on this device.'])])];
    var body = part('events').tBodies[0];
    body.replaceChildren.apply(body, rows);
  }

  /** The server's accounting: ε of the last round and cumulative ε, for its δ. */
  async function serverBudget() {
    try {
      var res = await fetch('/fl/v1/status', { cache: 'no-cache', credentials: 'omit' });
      if (!res.ok) return null;
      var status = await res.json();
      // The privacy figures, with how rounds are aggregated (secure or plain) beside them.
      return Object.assign({}, status.privacy, { aggregation: status.aggregation || null });
    } catch (e) {
      return null;
    }
  }

  function renderBudget(privacy) {
    var target = part('budget');
    if (!privacy) {
      target.replaceChildren(el('dt', {}, ['Status']), el('dd', {}, ['The aggregation server did not answer.']));
      return;
    }
    var closed = (privacy.rounds || []).length;
    // A null ε after a closed round means the accountant could not bound it (e.g. a round of one update,
    // whose noise alone is not counted as protection): say so, never show it as zero.
    var eps = function (e) {
      // Before any round closes there is nothing to account for: not "0.00".
      if (closed === 0) return 'none yet (no round has closed)';
      return e && typeof e.epsilon === 'number'
        ? e.epsilon.toPrecision(3)
        : closed > 0
          ? 'unbounded (a round had too little noise)'
          : 'none yet';
    };
    var pairs = [
      ['Noise multiplier σ', String(privacy.noiseMultiplier)],
      ['Clip norm', String(privacy.clipNorm)],
      ['δ', String(privacy.delta)],
      ['ε, last round', eps(privacy.lastRound)],
      ['ε, all rounds so far', eps(privacy.cumulative)],
      ['ε, all rounds, without assuming random sampling of shoppers', eps(privacy.cumulativeWithoutSampling)],
      ['Rounds closed', String((privacy.rounds || []).length)],
    ];
    var agg = privacy.aggregation;
    if (agg) {
      pairs.unshift([
        'How uploads are combined',
        agg.protocol === 'secure'
          ? "Secure aggregation: each upload is split into two random-looking shares, one for this shop's server and one, encrypted, for a " +
            'separate helper server; neither can read it alone, only the sum of at least ' +
            agg.minCohort +
            ' uploads is ever put back together (here the helper runs on the same machine, as a demo; a real shop has another party run it).'
          : "Plain: this shop's server reads each (clipped, noised) upload and adds them up.",
      ]);
    }
    // Each closed round: how it was combined and how many devices' uploads it summed.
    (privacy.rounds || []).slice(-5).forEach(function (r) {
      pairs.push([
        'Round ' + r.round,
        (r.protocol === 'secure' ? 'secure aggregation' : 'plain') +
          ', ' +
          plural(r.updates, 'device', 'devices') +
          ' summed, published ' +
          r.version,
      ]);
    });
    (privacy.abandonedRounds || []).slice(-3).forEach(function (r) {
      pairs.push(['Round ' + r.id + ' (abandoned)', 'nothing published: ' + r.reason]);
    });
    var nodes = [];
    pairs.forEach(function (p) {
      nodes.push(el('dt', {}, [p[0]]), el('dd', {}, [p[1]]));
    });
    target.replaceChildren.apply(target, nodes);
  }

  /** The ε of a round, from the server's list of closed rounds. */
  function roundEpsilon(privacy, roundId) {
    var r =
      privacy &&
      (privacy.rounds || []).find(function (x) {
        return String(x.round) === String(roundId);
      });
    if (!r) return 'round still open';
    return typeof r.epsilon === 'number' ? r.epsilon.toPrecision(3) : 'unbounded';
  }

  function renderUploads(st, privacy) {
    var target = part('uploads');
    var federated = st.worker && st.worker.federated;
    if (!federated || !Array.isArray(federated.uploads)) {
      // No Worker (consent not granted) or a site without updateEndpoint: this device sends nothing.
      target.replaceChildren(el('p', {}, ['No model updates uploaded from this device: personalization is off here.']));
      return;
    }
    if (federated.uploads.length === 0) {
      target.replaceChildren(el('p', {}, ['No model updates uploaded yet.']));
      return;
    }
    var num = function (v, digits) {
      return typeof v === 'number' ? v.toPrecision(digits) : '–';
    };
    var head = ['Time', 'Model version', 'Round', 'Size', 'Clip norm', 'Noise (σ)', 'ε'].map(function (h) {
      return el('th', {}, [h]);
    });
    var rows = federated.uploads
      .slice()
      .reverse()
      .map(function (u) {
        return el('tr', {}, [
          el('td', {}, [when(u.at)]),
          el('td', {}, [String(u.modelVersion)]),
          el('td', {}, [String(u.roundId)]),
          el('td', { class: 'num' }, [u.bytes.toLocaleString('en-GB') + ' bytes']),
          el('td', { class: 'num' }, [num(u.clipNorm, 3)]),
          el('td', { class: 'num' }, [num(u.noiseStd, 3)]),
          el('td', { class: 'num' }, [u.epsilon != null ? num(u.epsilon, 3) : roundEpsilon(privacy, u.roundId)]),
        ]);
      });
    var table = el('table', { class: 'data-table' }, [
      el('caption', {}, [plural(federated.uploads.length, 'model update', 'model updates') + ' sent from this browser, newest first']),
      el('thead', {}, [el('tr', {}, head)]),
      el('tbody', {}, rows),
    ]);
    target.replaceChildren(el('div', { class: 'table-wrap' }, [table]));
  }

  var generation = 0;
  /** Reads everything again; an older render that finishes late is dropped. */
  async function render() {
    var mine = ++generation;
    try {
      var sdk = await kit.whenSdk();
      // With consent granted the Worker starts: wait (≤ 10 s) until it has read this device's state.
      for (var i = 0; i < 50; i++) {
        var st = await sdk.status();
        if (!st.worker || st.worker.ready) break;
        await new Promise(function (r) {
          setTimeout(r, 200);
        });
      }
      var results = await Promise.all([sdk.status(), sdk.exportData(), kit.names(), serverBudget()]);
      if (mine !== generation) return;
      renderConsent(results[0].consent, results[1].webStorage['edge-personalize.consent'] || null);
      renderStored(results[1], results[2]);
      renderUploads(results[0], results[3]);
      renderBudget(results[3]);
    } catch (e) {
      if (mine === generation) part('verdict').textContent = 'Could not read your data: ' + (e && e.message ? e.message : String(e));
    }
  }

  function say(text) {
    part('action-status').textContent = text;
  }

  async function download() {
    var data = await (await kit.whenSdk()).exportData();
    var url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
    var link = el('a', { href: url, download: 'edge-personalize-data.json', hidden: '' });
    document.body.append(link);
    link.click();
    link.remove();
    // The download has started from the URL; keep it alive a while for slow disks, then free it.
    setTimeout(function () {
      URL.revokeObjectURL(url);
    }, 60000);
    var count = (data.indexedDB.events || []).length;
    say('Downloaded ' + plural(count, 'event', 'events') + ' and everything else stored, as JSON.');
  }

  async function erase(button) {
    if (!window.confirm("Erase everything this shop keeps in your browser: events, sessions, the model's state and your choice?")) return;
    button.disabled = true;
    say('Erasing…');
    try {
      await (await kit.whenSdk()).eraseData();
      say('Erased: nothing is stored on this device now.');
    } catch (e) {
      say('Could not erase: ' + (e && e.message ? e.message : String(e)));
    }
    button.disabled = false;
    await render();
  }

  document.querySelector('[data-privacy-download]').addEventListener('click', function () {
    download().catch(function (e) {
      say('Could not export: ' + (e && e.message ? e.message : String(e)));
    });
  });
  var eraseButton = document.querySelector('[data-privacy-erase]');
  eraseButton.addEventListener('click', function () {
    void erase(eraseButton);
  });
  // consent.js (loaded earlier) has passed the choice on by the time this listener runs. Under
  // GPC the consent in effect does not change, so no consent event would tell us.
  document.addEventListener('click', function (e) {
    if (e.target instanceof Element && e.target.closest('[data-consent-choice]')) void render();
  });
  window.addEventListener('edge-personalize:consent', function () {
    void render();
  });
  // Another tab may have recorded or erased meanwhile.
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') void render();
  });
  void render();
})();
