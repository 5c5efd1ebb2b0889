// Passkey step for the staff console: read the options the server put in the page, ask the
// browser's authenticator, and submit the answer in the form. No inline script (strict CSP).
(function () {
  var form = document.getElementById('passkey-form');
  var button = document.getElementById('passkey-button');
  var data = document.getElementById('webauthn-options');
  if (!form || !button || !data || !window.SimpleWebAuthnBrowser) return;
  button.addEventListener('click', function () {
    var optionsJSON = JSON.parse(data.textContent);
    var browser = window.SimpleWebAuthnBrowser;
    var run = form.getAttribute('data-webauthn') === 'register' ? browser.startRegistration({ optionsJSON: optionsJSON }) : browser.startAuthentication({ optionsJSON: optionsJSON });
    button.setAttribute('disabled', 'disabled');
    run.then(function (response) {
      form.elements.namedItem('response').value = JSON.stringify(response);
      form.submit();
    }, function () {
      button.removeAttribute('disabled');
      form.elements.namedItem('response').value = '{}';
      form.submit();
    });
  });
})();
