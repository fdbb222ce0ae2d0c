// Progressive enhancement for the staff export page: moves the progress bars of exports being
// written, and reloads the page when one is done (to show its download link). Without it, the
// page's "Refresh this page" link does the same.
(function () {
  'use strict';
  var table = document.querySelector('[data-progress-url]');
  if (!table || !window.fetch) return;
  var url = table.getAttribute('data-progress-url');
  var format = new Intl.NumberFormat('en-US');
  var delay = 2000;

  function isPending(status) {
    return status === 'queued' || status === 'running';
  }
  function pendingRows() {
    return Array.prototype.filter.call(table.querySelectorAll('[data-export-id]'), function (row) {
      return isPending(row.getAttribute('data-status'));
    });
  }
  if (pendingRows().length === 0) return;

  function update(row, item) {
    var bar = row.querySelector('progress');
    var rows = row.querySelector('[data-live="rows"]');
    var total = Number(item.rowsTotal) || 0;
    var written = Number(item.rowsWritten) || 0;
    if (bar && total > 0) {
      bar.max = total;
      bar.value = Math.min(written, total);
      bar.textContent = Math.min(100, Math.floor((100 * written) / total)) + '%';
    }
    if (rows) rows.textContent = format.format(written) + ' of ' + format.format(total) + ' rows';
    if (item.status === 'running')
      row.querySelector('[data-live="status"]').textContent = 'Being written';
  }

  function refresh() {
    if (document.hidden) return schedule();
    fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      .then(function (res) {
        return res.ok ? res.json() : null;
      })
      .then(function (body) {
        if (!body) {
          delay = Math.min(delay * 2, 60000);
          return schedule();
        }
        var finished = false;
        body.exports.forEach(function (item) {
          var row = pendingRows().filter(function (r) {
            return r.getAttribute('data-export-id') === item.id;
          })[0];
          if (!row) return;
          if (isPending(item.status)) update(row, item);
          else finished = true;
        });
        if (finished) return window.location.reload();
        delay = 2000;
        schedule();
      })
      .catch(function () {
        delay = Math.min(delay * 2, 60000);
        schedule();
      });
  }
  function schedule() {
    setTimeout(refresh, delay);
  }
  schedule();
})();
