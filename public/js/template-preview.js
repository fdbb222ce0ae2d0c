// Live preview of a letter template while staff edit it. The page works without it: the Preview
// button renders the same preview on the server.
(function () {
  'use strict';
  var form = document.getElementById('template-form');
  if (!form || !window.fetch || !window.URLSearchParams) return;
  var url = form.getAttribute('data-preview-url');
  var parts = {};
  ['about', 'problem', 'letter', 'subject', 'body'].forEach(function (name) {
    parts[name] = document.querySelector('[data-preview="' + name + '"]');
  });
  var timer;
  var sequence = 0;

  function show(answer) {
    var problem =
      answer.problem ||
      (answer.errors && (answer.errors.subject || answer.errors.body || answer.errors.form)) ||
      '';
    parts.problem.textContent = problem;
    parts.problem.hidden = !problem;
    parts.letter.hidden = !answer.letter;
    if (answer.letter) {
      parts.subject.textContent = answer.letter.subject;
      parts.body.textContent = answer.letter.body;
      parts.about.textContent =
        'To ' + answer.target + ', from a sample supporter in ' + answer.place + '.';
    }
  }

  function refresh() {
    var mine = ++sequence;
    var body = new URLSearchParams(new FormData(form));
    body.delete('action');
    fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      body: body,
      headers: { Accept: 'application/json' },
    })
      .then(function (res) {
        return res.json();
      })
      .then(function (answer) {
        if (mine === sequence) show(answer);
      })
      .catch(function () {
        /* keep the last preview */
      });
  }

  form.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
})();
