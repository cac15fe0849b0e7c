// E2E fixture glue (not part of the SDK), loaded right after the install snippet: a site may give
// its slots longer than the snippet's 300 ms (the snippet's last argument); `?deadline=<ms>` does
// that here by replacing the snippet's timer with one that does the same thing later.
(function () {
  var q = window.edgePersonalize;
  window.__snippetT0 = q && q.snippet ? q.snippet.t0 : null; // when the snippet ran (its deadline counts from there)
  var d = Number(new URLSearchParams(location.search).get('deadline'));
  if (!d || !q || !q.snippet) return;
  var s = q.snippet;
  clearTimeout(s.timer);
  s.timeout = d;
  s.timer = setTimeout(function () {
    if (q.loaded) return;
    try {
      s.sheet.replaceSync ? s.sheet.replaceSync('') : s.sheet.remove();
    } catch (e) {}
  }, d);
})();
