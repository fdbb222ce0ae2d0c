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
  // In the page's language: its number format, and the noun's plural forms the page gives.
  var locale = document.documentElement.lang === 'es' ? 'es-US' : 'en-US';
  var format = new Intl.NumberFormat(locale);
  var plurals = new Intl.PluralRules(locale);
  var delay = 5000;

  function refresh() {
    if (document.hidden) return schedule();
    fetch(url, { headers: { Accept: 'application/json' }, credentials: 'omit' })
      .then(function (res) {
        return res.ok ? res.json() : null;
      })
      .then(function (stats) {
        if (stats) {
          // Hidden while it could only say "0" (just after signing): shown once there is a count.
          if (box.hidden && stats.signatures > 0) box.hidden = false;
          countEl.textContent = format.format(stats.signatures);
          var form = plurals.select(stats.signatures);
          nounEl.textContent =
            box.getAttribute('data-noun-' + form) || box.getAttribute('data-noun-other');
          goalEl.textContent = format.format(stats.goal);
          bar.max = stats.goal;
          bar.value = Math.min(stats.signatures, stats.goal);
          bar.textContent = Math.floor((100 * stats.signatures) / stats.goal) + '%';
          delay = 5000;
        }
      })
      .catch(function () {
        delay = Math.min(delay * 2, 60000);
      })
      .then(schedule);
  }
  function schedule() {
    setTimeout(refresh, delay);
  }
  schedule();
})();
