// The petition form for partner sites. A partner pastes
//   <div data-petition="<campaign>" data-source="<partner code>" data-lang="es"></div>
//   <script src="<platform>/static/js/embed.js" data-platform="<platform>" async></script>
// and this script draws the form into the div and sends signatures to the platform's JSON API
// (no cookies; the platform allows the partner's site by CORS). Without JavaScript the div stays
// empty, so partners add a plain link to the campaign page inside it.
// Its language: the div's (or the script's) data-lang, else the partner page's <html lang>, else
// the browser's; the platform answers in it (English where it has no translation), and the
// signature records it.
// For screen readers and keyboards: field errors are tied to their fields, a summary is announced
// and focus goes to the first field to correct; success is announced and takes the focus.
// When the platform has a CAPTCHA turned on, the stats answer names it: the form then loads the
// provider's script on the partner's page (the partner's CSP must allow it) and sends its token.
(function () {
  'use strict';
  var script = document.currentScript;
  var platform =
    (script && script.getAttribute('data-platform')) || (script ? new URL(script.src).origin : '');
  if (!platform || !window.fetch) return;
  var scriptLang = script && script.getAttribute('data-lang');

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var name in attrs) node.setAttribute(name, attrs[name]);
    if (text) node.textContent = text;
    return node;
  }

  function languageOf(box) {
    var lang =
      box.getAttribute('data-lang') ||
      scriptLang ||
      document.documentElement.lang ||
      navigator.language ||
      'en';
    return String(lang).slice(0, 2).toLowerCase();
  }

  function field(form, id, label, type, autocomplete) {
    var wrap = el('p', { class: 'petition-embed-field' });
    wrap.appendChild(el('label', { for: id }, label));
    wrap.appendChild(el('br', {}));
    var input = el('input', {
      id: id,
      name: id.split('-').pop(),
      type: type,
      autocomplete: autocomplete,
      required: 'required',
    });
    wrap.appendChild(input);
    var error = el('span', { class: 'petition-embed-error', id: id + '-error' });
    wrap.appendChild(error);
    form.appendChild(wrap);
    return { input: input, error: error };
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
      document.head.appendChild(
        el('script', {
          src: captcha.scriptUrl + separator + 'render=explicit&onload=' + callback,
          async: 'async',
          defer: 'defer',
        }),
      );
    }
    if (load.api) ready(load.api);
    else load.waiting.push(ready);
  }

  /** The provider's widget in the form; returns how to read its token and to ask again. */
  function captchaIn(form, captcha, lang) {
    var holder = el('div', { class: 'petition-embed-captcha' });
    form.appendChild(holder);
    var api = null;
    var widget = null;
    withCaptchaApi(captcha, function (loaded) {
      api = loaded;
      widget = api.render(holder, { sitekey: captcha.siteKey, hl: lang, language: lang });
    });
    return {
      token: function () {
        return api && widget !== null ? api.getResponse(widget) || '' : '';
      },
      reset: function () {
        if (api && widget !== null) api.reset(widget);
      },
    };
  }

  function mount(box, index) {
    var slug = box.getAttribute('data-petition');
    var source = box.getAttribute('data-source') || '';
    var lang = languageOf(box);
    var api = platform + '/api/v1/campaigns/' + encodeURIComponent(slug);
    var query = function (extra) {
      return '?lng=' + encodeURIComponent(lang) + (extra || '');
    };
    var getJson = function (url) {
      return fetch(url, { credentials: 'omit' }).then(function (res) {
        return res.ok ? res.json() : Promise.reject(new Error('not found'));
      });
    };
    // The consent boxes show the platform's own words, which it records with each signature.
    Promise.all([
      getJson(api + '/stats' + query()),
      getJson(api + '/consent' + query(source ? '&source=' + encodeURIComponent(source) : '')),
      getJson(platform + '/api/v1/embed/texts' + query()),
    ])
      .then(function (answers) {
        var campaign = answers[0];
        var consent = answers[1];
        var texts = answers[2].texts;
        var locale = answers[2].locale;
        var number = function (value) {
          return Number(value).toLocaleString(locale);
        };
        var plural = new Intl.PluralRules(locale).select(campaign.signatures);
        box.textContent = '';
        box.classList.add('petition-embed');
        box.setAttribute('lang', answers[2].language);
        box.appendChild(el('h3', {}, campaign.title));
        box.appendChild(
          el(
            'p',
            { class: 'petition-embed-count' },
            (texts['count_' + plural] || texts.count_other)
              .replace('{{n}}', number(campaign.signatures))
              .replace('{{goal}}', number(campaign.goal)),
          ),
        );
        if (!campaign.open) {
          box.appendChild(el('p', {}, texts.closed));
          return;
        }
        var form = el('form', { novalidate: 'novalidate' });
        var prefix = 'petition-' + index + '-';
        var fields = {
          name: field(form, prefix + 'name', texts.name, 'text', 'name'),
          email: field(form, prefix + 'email', texts.email, 'email', 'email'),
          zip: field(form, prefix + 'zip', texts.zip, 'text', 'postal-code'),
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
        var partnerBox = consent.partnerOptIn
          ? consentBox('partnerOptIn', consent.partnerOptIn.wording)
          : null;
        var captcha = campaign.captcha ? captchaIn(form, campaign.captcha, lang) : null;
        var button = el('button', { type: 'submit' }, texts.button);
        form.appendChild(button);
        // Announced as it changes: "Sending…", and what went wrong.
        var status = el('p', {
          class: 'petition-embed-status',
          role: 'status',
          'aria-live': 'polite',
        });
        form.appendChild(status);
        var problem = el('p', { class: 'petition-embed-problem', role: 'alert' });
        form.appendChild(problem);
        var more = el('p', { class: 'petition-embed-privacy' });
        var link = el(
          'a',
          {
            href:
              campaign.url +
              (source
                ? (campaign.url.indexOf('?') === -1 ? '?' : '&') +
                  'source=' +
                  encodeURIComponent(source)
                : ''),
            target: '_blank',
            rel: 'noopener',
          },
          texts.more,
        );
        more.appendChild(link);
        form.appendChild(more);
        box.appendChild(form);

        function clearErrors() {
          for (var key in fields) {
            fields[key].error.textContent = '';
            fields[key].input.removeAttribute('aria-invalid');
            fields[key].input.removeAttribute('aria-describedby');
          }
          problem.textContent = '';
        }

        form.addEventListener('submit', function (event) {
          event.preventDefault();
          clearErrors();
          button.disabled = true;
          status.textContent = texts.sending;
          var body = {
            name: form.elements.name.value,
            email: form.elements.email.value,
            zip: form.elements.zip.value,
            optIn: box2.checked,
            partnerOptIn: partnerBox ? partnerBox.checked : false,
            source: source || undefined,
            captchaToken: captcha ? captcha.token() : undefined,
          };
          fetch(api + '/signatures' + query(), {
            method: 'POST',
            credentials: 'omit',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(body),
          })
            .then(function (res) {
              return res.json().then(function (data) {
                return { status: res.status, data: data };
              });
            })
            .then(function (answer) {
              button.disabled = false;
              status.textContent = '';
              // A token is good for one try.
              if (captcha && answer.status !== 202) captcha.reset();
              if (answer.status === 202) {
                // The form goes; the thanks takes its place and the focus, and is announced.
                var thanks = el(
                  'p',
                  { class: 'petition-embed-thanks', role: 'status', tabindex: '-1' },
                  campaign.verificationRequired ? texts.thanksCheckEmail : texts.thanks,
                );
                box.replaceChild(thanks, form);
                thanks.focus();
                return;
              }
              var fieldErrors = (answer.data && answer.data.errors) || {};
              var first = null;
              for (var name in fieldErrors) {
                var known = fields[name];
                if (!known) continue;
                known.error.textContent = ' ' + fieldErrors[name];
                known.input.setAttribute('aria-invalid', 'true');
                known.input.setAttribute('aria-describedby', known.error.id);
                if (!first) first = known.input;
              }
              problem.textContent = fieldErrors.captchaToken
                ? fieldErrors.captchaToken
                : first
                  ? texts.checkForm
                  : (answer.data && answer.data.message) || texts.failed;
              if (first) first.focus();
            })
            .catch(function () {
              button.disabled = false;
              status.textContent = '';
              problem.textContent = texts.unreachable;
            });
        });
      })
      .catch(function () {
        /* leave the partner's fallback content in place */
      });
  }

  var boxes = document.querySelectorAll('[data-petition]');
  for (var i = 0; i < boxes.length; i++) mount(boxes[i], i);
})();
