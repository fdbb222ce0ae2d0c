// The petition form for partner sites. A partner pastes
//   <div data-petition="<campaign>" data-source="<partner code>"></div>
//   <script src="<platform>/static/js/embed.js" data-platform="<platform>" async></script>
// and this script draws the form into the div and sends signatures to the platform's JSON API
// (no cookies; the platform allows the partner's site by CORS). Without JavaScript the div stays
// empty, so partners add a plain link to the campaign page inside it.
// When the platform has a CAPTCHA turned on, the stats answer names it: the form then loads the
// provider's script on the partner's page (the partner's CSP must allow it) and sends its token.
(function () {
  'use strict';
  var script = document.currentScript;
  var platform = (script && script.getAttribute('data-platform')) || (script ? new URL(script.src).origin : '');
  if (!platform || !window.fetch) return;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs) node.setAttribute(name, attrs[name]);
    if (text) node.textContent = text;
    return node;
  }

  function field(form, id, label, type, autocomplete) {
    var wrap = el('p', { class: 'petition-embed-field' });
    wrap.appendChild(el('label', { for: id }, label));
    wrap.appendChild(el('br', {}));
    var input = el('input', { id: id, name: id.split('-').pop(), type: type, autocomplete: autocomplete, required: 'required' });
    wrap.appendChild(input);
    var error = el('span', { class: 'petition-embed-error', role: 'alert' });
    wrap.appendChild(error);
    form.appendChild(wrap);
    return error;
  }

  var captchaLoads = {};

  /** Calls `ready(api)` once the provider's script (loaded once per page, rendering on request) is there. */
  function withCaptchaApi(captcha, ready) {
    var load = captchaLoads[captcha.scriptUrl];
    if (!load) {
      load = captchaLoads[captcha.scriptUrl] = { api: null, waiting: [] };
      var callback = 'petitionEmbedCaptcha' + Object.keys(captchaLoads).length;
      window[callback] = function () {
        load.api = window[captcha.provider];
        for (var i = 0; i < load.waiting.length; i++) load.waiting[i](load.api);
        load.waiting = [];
      };
      var separator = captcha.scriptUrl.indexOf('?') === -1 ? '?' : '&';
      document.head.appendChild(el('script', { src: captcha.scriptUrl + separator + 'render=explicit&onload=' + callback, async: 'async', defer: 'defer' }));
    }
    if (load.api) ready(load.api);
    else load.waiting.push(ready);
  }

  /** The provider's widget in the form; returns how to read its token and to ask again. */
  function captchaIn(form, captcha) {
    var holder = el('div', { class: 'petition-embed-captcha' });
    form.appendChild(holder);
    var api = null;
    var widget = null;
    withCaptchaApi(captcha, function (loaded) {
      api = loaded;
      widget = api.render(holder, { sitekey: captcha.siteKey });
    });
    return {
      token: function () { return api && widget !== null ? api.getResponse(widget) || '' : ''; },
      reset: function () { if (api && widget !== null) api.reset(widget); },
    };
  }

  function mount(box, index) {
    var slug = box.getAttribute('data-petition');
    var source = box.getAttribute('data-source') || '';
    var api = platform + '/api/v1/campaigns/' + encodeURIComponent(slug);
    var getJson = function (url) {
      return fetch(url, { credentials: 'omit' }).then(function (res) { return res.ok ? res.json() : Promise.reject(new Error('not found')); });
    };
    // The consent boxes show the platform's own words, which it records with each signature.
    Promise.all([getJson(api + '/stats'), getJson(api + '/consent' + (source ? '?source=' + encodeURIComponent(source) : ''))])
      .then(function (answers) {
        var campaign = answers[0];
        var consent = answers[1];
        box.textContent = '';
        box.classList.add('petition-embed');
        box.appendChild(el('h3', {}, campaign.title));
        box.appendChild(el('p', { class: 'petition-embed-count' }, campaign.signatures.toLocaleString('en-US') + ' of ' + campaign.goal.toLocaleString('en-US') + ' signatures'));
        if (!campaign.open) {
          box.appendChild(el('p', {}, 'This petition is closed. Thank you to everyone who signed.'));
          return;
        }
        var form = el('form', { novalidate: 'novalidate' });
        var prefix = 'petition-' + index + '-';
        var errors = {
          name: field(form, prefix + 'name', 'Your name', 'text', 'name'),
          email: field(form, prefix + 'email', 'Email', 'email', 'email'),
          zip: field(form, prefix + 'zip', 'ZIP code', 'text', 'postal-code'),
        };
        function consentBox(name, wording) {
          var line = el('p', { class: 'petition-embed-field' });
          var input = el('input', { id: prefix + name, type: 'checkbox', name: name });
          line.appendChild(input);
          line.appendChild(el('label', { for: prefix + name }, ' ' + wording));
          form.appendChild(line);
          return input;
        }
        var box2 = consentBox('optIn', consent.optIn);
        var partnerBox = consent.partnerOptIn ? consentBox('partnerOptIn', consent.partnerOptIn.wording) : null;
        var captcha = campaign.captcha ? captchaIn(form, campaign.captcha) : null;
        var button = el('button', { type: 'submit' }, 'Sign the petition');
        form.appendChild(button);
        var status = el('p', { class: 'petition-embed-status', role: 'status' });
        form.appendChild(status);
        var more = el('p', { class: 'petition-embed-privacy' });
        var link = el('a', { href: campaign.url + (source ? '?source=' + encodeURIComponent(source) : ''), target: '_blank', rel: 'noopener' }, 'Read the full petition and how your data is used');
        more.appendChild(link);
        form.appendChild(more);
        box.appendChild(form);

        form.addEventListener('submit', function (event) {
          event.preventDefault();
          for (var key in errors) errors[key].textContent = '';
          button.disabled = true;
          status.textContent = 'Sending…';
          var body = {
            name: form.elements.name.value,
            email: form.elements.email.value,
            zip: form.elements.zip.value,
            optIn: box2.checked,
            partnerOptIn: partnerBox ? partnerBox.checked : false,
            source: source || undefined,
            captchaToken: captcha ? captcha.token() : undefined,
          };
          fetch(api + '/signatures', {
            method: 'POST',
            credentials: 'omit',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(body),
          })
            .then(function (res) { return res.json().then(function (data) { return { status: res.status, data: data }; }); })
            .then(function (answer) {
              button.disabled = false;
              // A token is good for one try.
              if (captcha && answer.status !== 202) captcha.reset();
              if (answer.status === 202) {
                form.textContent = '';
                form.appendChild(el('p', { class: 'petition-embed-thanks' }, campaign.verificationRequired
                  ? 'Thank you. Please check your inbox: your signature counts once you confirm it with the link we sent you.'
                  : 'Thank you for signing.'));
                return;
              }
              var fieldErrors = (answer.data && answer.data.errors) || {};
              var shown = false;
              for (var name in fieldErrors) {
                if (errors[name]) { errors[name].textContent = ' ' + fieldErrors[name]; shown = true; }
              }
              status.textContent = fieldErrors.captchaToken ? fieldErrors.captchaToken : shown ? 'Please check the form.' : (answer.data && answer.data.message) || 'Something went wrong. Please try again.';
            })
            .catch(function () {
              button.disabled = false;
              status.textContent = 'We could not reach the petition. Please try again in a moment.';
            });
        });
      })
      .catch(function () { /* leave the partner's fallback content in place */ });
  }

  var boxes = document.querySelectorAll('[data-petition]');
  for (var i = 0; i < boxes.length; i++) mount(boxes[i], i);
})();
