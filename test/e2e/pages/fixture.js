// E2E fixture glue (not part of the SDK): reads the test's options from the query string, queues
// init exactly as a site would, and records what the SDK reports for the test to read.
(function () {
  var q = new URLSearchParams(location.search);
  window.__errors = [];
  window.__ranked = [];
  window.__uncaught = [];
  window.addEventListener('error', function (e) {
    window.__uncaught.push(String(e.message));
  });
  window.addEventListener('unhandledrejection', function (e) {
    window.__uncaught.push('unhandled: ' + String((e.reason && e.reason.message) || e.reason));
  });
  var config = {
    modelUrl: q.get('model') || '/models/online-retail/model.json',
    consent: q.get('consent') || 'granted',
    backend: q.get('backend') || 'auto',
    debug: true,
    onError: function (e) {
      window.__errors.push(e.name + ': ' + e.message);
    },
    onRanked: function (i) {
      window.__ranked.push({ slot: i.slot.id, reordered: i.reordered, kept: i.kept || null, at: i.at });
    },
  };
  // Tests run on a shared 2-core machine: allow the slowest start (cold tfjs import) the maximum
  // wait unless a test asks otherwise; the default 300 ms is what `npm run bench` measures against.
  config.hideTimeoutMs = Number(q.get('timeout') || 1000);
  if (q.get('worker')) config.workerUrl = q.get('worker');
  if (q.get('maxEvents')) config.retention = { maxEvents: Number(q.get('maxEvents')) };
  if (q.get('fl')) {
    config.updateEndpoint = q.get('flPath') || '/fl';
    config.trainAfterEvents = Number(q.get('fl'));
  }
  if (q.get('vitals'))
    config.onVitals = function (v) {
      window.__vitals = v;
    };
  if (q.get('autoTrack')) config.autoTrack = q.get('autoTrack') === 'true';
  edgePersonalize.push(['init', config]);
})();
