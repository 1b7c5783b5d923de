// Small progressive enhancements for the dashboard. Every page works without this file:
// dialogs fall back to their own pages, presets to radio buttons, copy to selecting the text.
(function () {
  "use strict";

  // A form or link that opens in the dialog, on a page without one (a standalone page such as
  // /keys/new/ opened in its own tab): drop its htmx attributes before htmx reads them, so it works as
  // the plain form or link it also is. htmx processes the page on DOMContentLoaded, after this deferred script.
  function unhookDialogTargets(root) {
    if (document.getElementById("dialog-body")) return;
    var found = Array.prototype.slice.call(root.querySelectorAll('[hx-target="#dialog-body"]'));
    if (root.matches && root.matches('[hx-target="#dialog-body"]')) found.push(root);
    found.forEach(function (el) {
      ["hx-get", "hx-post", "hx-target", "hx-swap"].forEach(function (a) { el.removeAttribute(a); });
    });
  }
  unhookDialogTargets(document);
  document.addEventListener("htmx:beforeProcessNode", function (event) { unhookDialogTargets(event.detail.elt); });

  // <time data-moment> (the `moment` template filter): the server wrote the organisation's zone; show the
  // viewer's own, with its abbreviation. The title keeps UTC for hovering.
  var MOMENT_OPTIONS = {
    date: { year: "numeric", month: "short", day: "numeric" },
    datetime: { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short" },
    seconds: { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short" },
  };
  function localiseTimes(root) {
    if (!window.Intl || !root.querySelectorAll) return;
    root.querySelectorAll("time[data-moment]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      var options = MOMENT_OPTIONS[el.getAttribute("data-moment")] || MOMENT_OPTIONS.datetime;
      if (!isNaN(when.getTime())) el.textContent = new Intl.DateTimeFormat(undefined, options).format(when);
    });
  }
  localiseTimes(document);
  document.addEventListener("htmx:load", function (event) { localiseTimes(event.detail.elt); });

  if (window.htmx) {
    // Re-rendered forms with errors come back as 400/409; swap them in like a success.
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "(400|409|422)", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
    ];
  }

  // Polling ("every 5s") pauses while the tab is hidden. A trigger filter such as
  // [document.visibilityState === 'visible'] would need eval, which the Content-Security-Policy refuses.
  document.addEventListener("htmx:confirm", function (event) {
    var polled = !event.detail.triggeringEvent && event.detail.elt.hasAttribute("data-poll-while-visible");
    if (polled && document.visibilityState !== "visible") event.preventDefault();
  });

  // Copy buttons need this script; without it the secret stays selectable in its read-only field.
  function showCopyButtons(root) {
    root.querySelectorAll("[data-copy][hidden]").forEach(function (b) { b.hidden = false; });
  }
  showCopyButtons(document);
  document.addEventListener("htmx:afterSwap", function (event) { showCopyButtons(event.detail.target); });
  // An outerHTML swap replaces its target: the new element arrives with htmx:load.
  document.addEventListener("htmx:load", function (event) { showCopyButtons(event.detail.elt.parentElement || event.detail.elt); });

  function dialog() { return document.getElementById("dialog"); }

  function closeDialog() {
    var d = dialog();
    if (d && d.open) d.close();
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var d = dialog();
    if (!d || event.detail.target.id !== "dialog-body") return;
    if (!d.open) d.showModal();
    var first = d.querySelector("[autofocus], input:not([type=hidden]), button, a[href]");
    if (first) first.focus();
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var msg = status === 403 ? "You don't have permission to do that." : "Something went wrong (" + status + "). Try again.";
    window.alert(msg);
  });

  // The server answers a finished modal action with an HX-Trigger event.
  document.body.addEventListener("dialog-close", closeDialog);

  document.addEventListener("close", function (event) {
    // Closing the dialog removes its content: a secret shown once must not linger in the DOM.
    if (event.target.id === "dialog") document.getElementById("dialog-body").innerHTML = "";
  }, true);

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-dialog-close]");
    if (closer && closer.closest("dialog")) {
      event.preventDefault();
      closeDialog();
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      event.preventDefault();
      copyFrom(copy);
    }
  });

  // One copy button (templates/includes/copy_button.html, or a secret panel's): copies the named element's
  // value or text, then says so in the status next to it, clearing the one said before.
  function copyFrom(button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var isField = source.tagName === "INPUT" || source.tagName === "TEXTAREA";
    var text = isField ? source.value : source.textContent;
    var next = button.nextElementSibling;
    var status = next && next.classList.contains("copy-status") ? next : button.parentElement.parentElement.querySelector(".copy-status");
    var done = function () {
      document.querySelectorAll(".copy-status").forEach(function (s) { if (s !== status) s.textContent = ""; });
      if (status) status.textContent = "Copied to clipboard.";
    };
    var selectAndCopy = function () {
      if (isField) {
        source.select();
      } else {
        var range = document.createRange();
        range.selectNodeContents(source);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
      }
      document.execCommand("copy");
      done();
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, selectAndCopy);
    } else {
      selectAndCopy();
    }
  }

  // A form whose action cannot be undone names its consequence and asks first (without this script
  // the button posts directly; the page it lands on says what happened).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var question = (submitter && submitter.getAttribute("data-confirm")) || (form.getAttribute && form.getAttribute("data-confirm"));
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // A field's length limit is stated under it ("Up to 100 characters."); the browser never cuts input short
  // (no maxlength): past the limit the line says by how much, and the server's check has the last word.
  function showLength(input) {
    var line = document.querySelector('[data-limit-for="' + input.id + '"]');
    if (!line) return;
    var limit = parseInt(input.getAttribute("data-limit"), 10);
    if (!line.hasAttribute("data-limit-text")) line.setAttribute("data-limit-text", line.textContent);
    var over = input.value.length - limit;
    line.classList.toggle("limit-over", over > 0);
    line.textContent = over > 0
      ? input.value.length.toLocaleString() + " characters: " + over.toLocaleString() + " over the limit of " + limit.toLocaleString() + "."
      : line.getAttribute("data-limit-text");
  }
  document.addEventListener("input", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-limit")) showLength(event.target);
  });

  // Scope presets: choosing Full access / Read-only ticks the boxes; ticking a box means Custom.
  document.addEventListener("change", function (event) {
    var input = event.target;
    var form = input.form;
    if (!form) return;
    if (input.name === "access" && input.dataset.scopes !== undefined) {
      var wanted = input.dataset.scopes.split(" ");
      form.querySelectorAll("input[name=scopes]").forEach(function (box) {
        if (input.value !== "custom") box.checked = wanted.indexOf(box.value) !== -1;
      });
    } else if (input.name === "scopes") {
      var custom = form.querySelector("input[name=access][value=custom]");
      if (custom) custom.checked = true;
    }
  });
})();
