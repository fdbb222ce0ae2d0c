// After a round trip, puts keyboard and screen-reader focus where the page's news is: the error
// summary when a form came back with errors, else the element marked `data-focus-here` (the next
// step's heading, a confirmation). Pages are complete without it: the summary is also an alert.
(function () {
  'use strict';
  var target =
    document.querySelector('.error-summary') || document.querySelector('[data-focus-here]');
  if (!target) return;
  if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
  target.focus();
})();
