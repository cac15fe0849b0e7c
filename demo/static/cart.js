// The demo shop's cart, kept in localStorage (id → quantity), on every page: the header count and
// the product page's "Add to cart" button. The SDK records the add_to_cart event itself, from the
// button's data-personalize-event attribute; this script only keeps the cart.
(function () {
  'use strict';
  var KEY = 'demo-shop-cart';

  /** @returns {Record<string, number>} */
  function read() {
    try {
      var cart = JSON.parse(localStorage.getItem(KEY) || '{}');
      return cart && typeof cart === 'object' ? cart : {};
    } catch (e) {
      return {}; // storage blocked or corrupt: an empty cart, never a broken page
    }
  }

  /** @param {Record<string, number>} cart */
  function write(cart) {
    try {
      localStorage.setItem(KEY, JSON.stringify(cart));
    } catch (e) {
      /* storage full or blocked: the cart is lost, the page keeps working */
    }
    showCount(cart);
  }

  /** @param {Record<string, number>} cart */
  function count(cart) {
    return Object.keys(cart).reduce(function (n, id) {
      return n + cart[id];
    }, 0);
  }

  /** @param {Record<string, number>} cart */
  function showCount(cart) {
    document.querySelectorAll('[data-cart-count]').forEach(function (el) {
      el.textContent = String(count(cart));
    });
  }

  document.addEventListener('click', function (e) {
    var button = e.target instanceof Element ? e.target.closest('[data-add-to-cart]') : null;
    if (!button) return;
    var id = button.getAttribute('data-add-to-cart');
    var cart = read();
    cart[id] = (cart[id] || 0) + 1;
    write(cart);
    var status = button.parentElement && button.parentElement.querySelector('[data-cart-status]');
    if (status) status.textContent = 'Added: ' + cart[id] + ' in your cart.';
  });

  showCount(read());
  // The cart page's script uses these.
  window.demoCart = { read: read, write: write, count: count };
})();
