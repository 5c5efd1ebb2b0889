// Passkey steps for the IdP stub: fetch options, ask the browser's authenticator, post the answer.
/* global SimpleWebAuthnBrowser */
(function () {
  'use strict';
  function wire(form) {
    form.addEventListener('submit', async function (event) {
      var field = form.querySelector('input[name="response"]');
      if (field.value) return; // already answered: let the form go
      event.preventDefault();
      var csrf = form.querySelector('input[name="csrf"]').value;
      try {
        var res = await fetch(form.dataset.optionsUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'csrf=' + encodeURIComponent(csrf),
          credentials: 'same-origin',
        });
        if (!res.ok) throw new Error('Could not start the passkey step (' + res.status + ')');
        var optionsJSON = await res.json();
        var answer = form.dataset.passkey === 'register'
          ? await SimpleWebAuthnBrowser.startRegistration({ optionsJSON: optionsJSON })
          : await SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: optionsJSON });
        field.value = JSON.stringify(answer);
      } catch (err) {
        field.value = JSON.stringify({ error: String((err && err.name) || 'Error') });
      }
      form.submit();
    });
  }
  document.querySelectorAll('form[data-passkey]').forEach(wire);
})();
