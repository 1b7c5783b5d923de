// Progressive enhancements for the tools and agents pages; every form works without them.
(function () {
  "use strict";

  // The editor shows only the inputs of the chosen auth type.
  function syncAuth(select) {
    var form = select.form;
    form.querySelectorAll("[data-auth]").forEach(function (group) {
      group.hidden = group.getAttribute("data-auth") !== select.value;
    });
  }

  // "All" vs "only these" pickers: the checkboxes matter only for "only these".
  function syncPicker(radio) {
    var picker = document.getElementById(radio.getAttribute("data-picker"));
    if (!picker) return;
    var selected = radio.form.querySelector("input[name='" + radio.name + "'][value=selected]").checked;
    picker.setAttribute("aria-disabled", selected ? "false" : "true");
  }

  function init(root) {
    root.querySelectorAll("select[name=auth_type]").forEach(syncAuth);
    root.querySelectorAll("input[data-picker]:checked").forEach(syncPicker);
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name=auth_type]")) syncAuth(event.target);
    if (event.target.matches("input[data-picker]")) syncPicker(event.target);
  });

  // Enter in the "add a hint" box adds the chip instead of submitting the whole form.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.matches("input[name=new_hint]")) return;
    event.preventDefault();
    var add = event.target.form.querySelector("button[name=add_hint]");
    if (add) add.click();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    init(event.detail.target);
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (trigger && (trigger.name === "add_hint" || trigger.name === "remove_hint")) {
      var box = document.getElementById("new-hint");
      if (box) box.focus();
    }
  });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
