// Bursar portal: the WebAuthn ceremonies, the only part of the portal that
// needs JavaScript. A form marked data-passkey="register" or "login" gets
// its options from data-options (a POST with the form's fields, token
// included), asks the browser's authenticator, and posts the answer as
// JSON in the form's "credential" field: the server does every check.
"use strict";

(function () {
  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // creationOptions and requestOptions turn the server's JSON (binary
  // fields in base64url) into what navigator.credentials expects.
  function creationOptions(pk) {
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return pk;
  }

  function requestOptions(pk) {
    pk.challenge = fromB64url(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return pk;
  }

  function credentialJSON(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle) out.response.userHandle = toB64url(r.userHandle);
    }
    return JSON.stringify(out);
  }

  function showError(form, msg) {
    var el = form.querySelector("[data-passkey-error]");
    el.textContent = msg;
    el.hidden = false;
  }

  function ceremony(form) {
    var kind = form.getAttribute("data-passkey");
    var fields = new URLSearchParams(new FormData(form));
    fields.delete("credential");
    return fetch(form.getAttribute("data-options"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: fields.toString()
    }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error(body.error || "The server refused to start.");
        return body;
      });
    }).then(function (opts) {
      if (kind === "register") {
        return navigator.credentials.create({ publicKey: creationOptions(opts.publicKey) });
      }
      return navigator.credentials.get({ publicKey: requestOptions(opts.publicKey), mediation: opts.mediation || undefined });
    }).then(function (cred) {
      form.querySelector("input[name=credential]").value = credentialJSON(cred);
      form.submit();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-passkey]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (ev) {
        if (form.querySelector("input[name=credential]").value !== "") return;
        ev.preventDefault();
        if (!window.PublicKeyCredential) {
          showError(form, "This browser does not support passkeys.");
          return;
        }
        if (!form.reportValidity()) return;
        ceremony(form).catch(function (err) {
          var msg = err && err.name === "NotAllowedError"
            ? "The passkey request was cancelled or timed out. Try again."
            : (err && err.message) || "The passkey did not work. Try again.";
          showError(form, msg);
        });
      });
    });
  });
})();
