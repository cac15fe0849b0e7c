// The cart page: lists the cart from localStorage with names and prices from /api/catalogue.json,
// and "Buy" records one purchase event per item with the SDK's public API, then empties the cart.
(function () {
  'use strict';
  var view = document.querySelector('[data-cart-view]');
  var buy = document.querySelector('[data-buy]');
  var status = document.querySelector('[data-buy-status]');
  var gbp = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'GBP' });
  /** @type {Record<string, [string, string, number]>} */
  var names = {};

  /** Builds an element; children are nodes or text (set as text, never parsed as HTML). */
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

  /** Records through the public API, or queues on the snippet's array if the SDK is still loading. */
  function track(type, props) {
    var ep = window.edgePersonalize;
    if (ep && typeof ep.track === 'function') ep.track(type, props);
    else (window.edgePersonalize = ep || []).push(['track', type, props]);
  }

  function render() {
    var cart = window.demoCart.read();
    var ids = Object.keys(cart);
    buy.disabled = ids.length === 0;
    if (ids.length === 0) {
      view.replaceChildren(el('p', {}, ['Your cart is empty. ', el('a', { href: '/' }, ['Find something nice.'])]));
      return;
    }
    var total = 0;
    var rows = ids.map(function (id) {
      var item = names[id] || [id, '', 0];
      total += item[2] * cart[id];
      var remove = el('button', { type: 'button', class: 'link-button' }, ['Remove']);
      remove.addEventListener('click', function () {
        var next = window.demoCart.read();
        delete next[id];
        window.demoCart.write(next);
        render();
      });
      return el('tr', {}, [
        el('td', {}, [el('a', { href: '/product/' + encodeURIComponent(id) }, [item[0]])]),
        el('td', {}, [item[1]]),
        el('td', { class: 'num' }, [String(cart[id])]),
        el('td', { class: 'num' }, [gbp.format(item[2] * cart[id])]),
        el('td', {}, [remove]),
      ]);
    });
    var head = el('tr', {}, [
      el('th', {}, ['Product']),
      el('th', {}, ['Category']),
      el('th', { class: 'num' }, ['Qty']),
      el('th', { class: 'num' }, ['Price']),
      el('th', {}, []),
    ]);
    var foot = el('tr', {}, [
      el('th', {}, ['Total']),
      el('td', {}, []),
      el('td', {}, []),
      el('th', { class: 'num' }, [gbp.format(total)]),
      el('td', {}, []),
    ]);
    view.replaceChildren(el('table', {}, [el('thead', {}, [head]), el('tbody', {}, rows), el('tfoot', {}, [foot])]));
  }

  buy.addEventListener('click', function () {
    var ids = Object.keys(window.demoCart.read());
    ids.forEach(function (id) {
      track('purchase', { itemId: id });
    });
    window.demoCart.write({});
    render();
    status.textContent = 'Thank you! ' + ids.length + (ids.length === 1 ? ' purchase' : ' purchases') + ' recorded on this device.';
  });

  render();
  fetch('/api/catalogue.json')
    .then(function (r) {
      return r.ok ? r.json() : {};
    })
    .then(function (data) {
      names = data;
      render();
    })
    .catch(function () {
      /* offline: the cart shows ids instead of names */
    });
})();
