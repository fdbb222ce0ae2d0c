// Progressive enhancement: keeps the signature counter and goal bar current while the page is open.
// The page is complete without it.
(function () {
  'use strict';
  var box = document.querySelector('[data-stats-url]');
  if (!box || !window.fetch) return;
  var url = box.getAttribute('data-stats-url');
  var countEl = box.querySelector('[data-live="count"]');
  var goalEl = box.querySelector('[data-live="goal"]');
  var nounEl = box.querySelector('[data-live="noun"]');
  var bar = box.querySelector('[data-live="bar"]');
  var format = new Intl.NumberFormat('en-US');
  var delay = 5000;

  function refresh() {
    if (document.hidden) return schedule();
    fetch(url, { headers: { Accept: 'application/json' }, credentials: 'omit' })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (stats) {
        if (stats) {
          countEl.textContent = format.format(stats.signatures);
          nounEl.textContent = stats.signatures === 1 ? 'signature' : 'signatures';
          goalEl.textContent = format.format(stats.goal);
          bar.max = stats.goal;
          bar.value = Math.min(stats.signatures, stats.goal);
          bar.textContent = Math.floor((100 * stats.signatures) / stats.goal) + '%';
          delay = 5000;
        }
      })
      .catch(function () { delay = Math.min(delay * 2, 60000); })
      .then(schedule);
  }
  function schedule() { setTimeout(refresh, delay); }
  schedule();
})();
