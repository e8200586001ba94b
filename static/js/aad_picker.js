// AAID ID dropdown: turns the plain AAID ID text field into a searchable combobox (WAI-ARIA 1.2 combobox with a
// listbox popup). "-- Direct Input --" comes first; the accounts come from the server as the manager types, 20 at
// a time. Picking one fills the AAD-owned fields and locks them; "-- Direct Input --" unlocks them. Accounts someone
// else has linked are listed disabled with who holds them ("linked to 27728 Anna Kim"): never picked, and the
// arrow keys step over them.
// Data from AAD only ever reaches the page through textContent / value, never as markup.
(function () {
  "use strict";

  var DIRECT_LABEL = "-- Direct Input --";
  var DEBOUNCE_MS = 200;
  var NAME_MAX = 24;  // a manager's Name (My Information) holds 24 characters
  var FIELD_LABELS = { first_name: "First name", last_name: "Last name", email: "E-mail", name: "Name" };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function attr(root, name) {
    var value = root.getAttribute(name);
    return value === null ? "" : value;
  }

  function readSelected(root) {
    var id = attr(root, "data-selected-id");
    if (!id) { return null; }
    return {
      id: id,
      label: attr(root, "data-selected-label"),
      first_name: attr(root, "data-selected-first_name"),
      last_name: attr(root, "data-selected-last_name"),
      email: attr(root, "data-selected-email"),
      upn: attr(root, "data-selected-upn")
    };
  }

  function setup(root, index) {
    var valueField = root.querySelector("input[name=aad_contact]");
    if (!valueField) { return; }
    var form = valueField.form;
    var searchUrl = attr(root, "data-search-url");
    var forWho = attr(root, "data-for");
    var lockNames = attr(root, "data-lock").split(/\s+/).filter(Boolean);
    var hasSaved = attr(root, "data-has-saved") === "1";
    var savedLink = attr(root, "data-saved-link");
    var confirmed = form.querySelector("input[name=aad_confirmed]");
    var diffBox = root.querySelector("[data-aad-differences]");
    var lockNote = root.querySelector("[data-aad-lock-note]");
    var selected = readSelected(root);
    var saved = {};
    lockNames.forEach(function (name) { saved[name] = attr(root, "data-saved-" + name); });

    // The visible combobox takes over the field's id (so its <label> names it); the value moves to a hidden input.
    var comboId = valueField.id;
    var listId = "aad-picker-list-" + index;
    var statusId = "aad-picker-status-" + index;
    var describedBy = valueField.getAttribute("aria-describedby") || (comboId + "_helptext");
    valueField.id = comboId + "_value";
    valueField.type = "hidden";
    valueField.removeAttribute("aria-describedby");
    valueField.removeAttribute("aria-invalid");
    valueField.value = selected ? selected.id : "";

    var wrap = el("div", "aad-combobox");
    var input = el("input", "form-control aad-combobox-input");
    input.type = "text";
    input.id = comboId;
    input.autocomplete = "off";
    input.spellcheck = false;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("aria-describedby", describedBy + " " + statusId);
    if (root.querySelector(".invalid-feedback")) {
      input.classList.add("is-invalid");
      input.setAttribute("aria-invalid", "true");
    }
    input.placeholder = "Type a name, e-mail or user principal name";
    var toggle = el("button", "btn btn-outline-secondary aad-combobox-toggle");
    toggle.type = "button";
    toggle.tabIndex = -1;
    toggle.setAttribute("aria-label", "Show AAD accounts");
    toggle.setAttribute("aria-controls", listId);
    toggle.setAttribute("aria-expanded", "false");
    toggle.appendChild(el("span", "", "▾")).setAttribute("aria-hidden", "true");
    var list = el("ul", "aad-combobox-list list-unstyled");
    list.id = listId;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "AAD accounts");
    list.hidden = true;
    var status = el("div", "form-text aad-combobox-status");
    status.id = statusId;
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");

    var group = el("div", "input-group");
    group.appendChild(input);
    group.appendChild(toggle);
    wrap.appendChild(group);
    wrap.appendChild(list);
    valueField.parentNode.insertBefore(wrap, valueField.nextSibling);
    wrap.parentNode.insertBefore(status, wrap.nextSibling);
    var help = root.querySelector("#" + CSS.escape(comboId + "_helptext"));
    if (help) { help.textContent = "Pick the user's Microsoft account, or -- Direct Input -- to type the fields yourself."; }
    var current = root.querySelector("[data-testid=aad-current]");
    if (current) { current.hidden = true; }

    var options = [];      // [{account|null, node}]
    var active = -1;
    var timer = null;
    var sequence = 0;
    var controller = null;
    var lastQuery = "";

    function labelOf(account) { return account ? account.label : DIRECT_LABEL; }

    function showSelection() { input.value = labelOf(selected); }

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      toggle.setAttribute("aria-expanded", "true");
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      toggle.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function setActive(position, step) {
      if (!options.length) { return; }
      var count = options.length;
      var index = (position + count) % count;
      // "-- Direct Input --" is never disabled, so this always lands on an option that can be picked.
      for (var tries = 0; tries < count && options[index].disabled; tries += 1) {
        index = (index + (step || 1) + count) % count;
      }
      active = index;
      options.forEach(function (option, i) {
        option.node.classList.toggle("active", i === active);
        option.node.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      var node = options[active].node;
      input.setAttribute("aria-activedescendant", node.id);
      if (node.scrollIntoView) { node.scrollIntoView({ block: "nearest" }); }
    }

    function addOption(account) {
      var node = el("li", "aad-combobox-option");
      node.id = listId + "-" + options.length;
      node.setAttribute("role", "option");
      node.setAttribute("aria-selected", "false");
      var disabled = Boolean(account && account.disabled);
      if (account) {
        node.setAttribute("data-object-id", account.id);
        node.appendChild(el("span", "aad-option-name", (account.first_name + " " + account.last_name).trim() || account.upn));
        node.appendChild(el("span", "aad-option-detail", account.upn + (account.email && account.email !== account.upn ? " · " + account.email : "")));
        if (disabled) {
          node.classList.add("aad-option-taken");
          node.setAttribute("aria-disabled", "true");
          node.appendChild(el("span", "aad-option-holder", "linked to " + account.linked_to));
        }
      } else {
        node.classList.add("aad-option-direct");
        node.textContent = DIRECT_LABEL;
      }
      node.addEventListener("mousedown", function (event) { event.preventDefault(); });
      node.addEventListener("click", function () { if (!disabled) { choose(account); } });
      options.push({ account: account, node: node, disabled: disabled });
      list.appendChild(node);
    }

    function render(accounts, more) {
      list.textContent = "";
      options = [];
      addOption(null);
      accounts.forEach(addOption);
      var taken = accounts.filter(function (account) { return account.disabled; }).length;
      var takenNote = taken ? " " + taken + (taken === 1 ? " is" : " are") + " linked to someone already and cannot be picked." : "";
      if (!accounts.length) {
        status.textContent = "No synced, active AAD account matches “" + input.value.trim() + "”.";
      } else if (more) {
        status.textContent = "Showing the first " + accounts.length + " accounts; keep typing to narrow them down." + takenNote;
      } else {
        status.textContent = accounts.length + (accounts.length === 1 ? " account matches." : " accounts match.") + takenNote;
      }
      open();
      // Typed text: the best match first, so Enter takes it. Just opened: the current choice.
      var position = 0;
      if (lastQuery && accounts.length) {
        position = 1;
      } else if (selected) {
        options.forEach(function (option, i) { if (option.account && option.account.id === selected.id) { position = i; } });
      }
      setActive(position);
    }

    function search(text) {
      lastQuery = text;
      sequence += 1;
      var mine = sequence;
      if (controller) { controller.abort(); }
      controller = window.AbortController ? new AbortController() : null;
      var params = new URLSearchParams({ q: text });
      if (forWho) { params.set("for", forWho); }
      status.textContent = "Searching…";
      fetch(searchUrl + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      }).then(function (data) {
        if (mine === sequence) { render(data.results || [], !!data.more); }
      }).catch(function (error) {
        if (error.name === "AbortError" || mine !== sequence) { return; }
        status.textContent = "Could not search the AAD accounts (" + error.message + "). Reload the page and try again.";
      });
    }

    function scheduleSearch() {
      clearTimeout(timer);
      var text = input.value === labelOf(selected) ? "" : input.value.trim();
      timer = setTimeout(function () { search(text); }, DEBOUNCE_MS);
    }

    function fieldNamed(name) { return form.elements.namedItem(name); }

    // When AAD's full name is longer than a manager's Name holds, the help text says it was cut and shows it whole.
    var nameHelp = lockNames.indexOf("name") >= 0 ? form.querySelector("#id_name_helptext") : null;
    var nameHelpText = nameHelp ? nameHelp.textContent : "";
    function noteCutName(account) {
      if (!nameHelp) { return; }
      var full = account ? (account.first_name + " " + account.last_name).trim() : "";
      nameHelp.textContent = full.length > NAME_MAX
        ? "Cut to " + NAME_MAX + " characters from AAD's full name “" + full + "”." : nameHelpText;
    }

    function lock(account) {
      noteCutName(account);
      lockNames.forEach(function (name) {
        var field = fieldNamed(name);
        if (!field) { return; }
        if (account[name]) { field.value = account[name]; }
        field.readOnly = true;
        field.classList.add("aad-locked");
        var badge = form.querySelector("[data-aad-badge=" + name + "]");
        if (badge) { badge.hidden = false; }
      });
      if (lockNote) { lockNote.hidden = false; }
    }

    function unlock() {
      noteCutName(null);
      lockNames.forEach(function (name) {
        var field = fieldNamed(name);
        if (!field) { return; }
        field.readOnly = false;
        field.classList.remove("aad-locked");
        var badge = form.querySelector("[data-aad-badge=" + name + "]");
        if (badge) { badge.hidden = true; }
      });
      if (lockNote) { lockNote.hidden = true; }
    }

    function showDifferences(account) {
      // Shown before saving for an existing person; saving then applies AAD's values (the server agrees).
      diffBox.textContent = "";
      diffBox.hidden = true;
      if (confirmed) { confirmed.value = ""; }
      if (!account || !hasSaved || account.id === savedLink) { return; }
      var rows = lockNames.filter(function (name) { return account[name] && account[name] !== saved[name]; });
      if (!rows.length) { return; }
      diffBox.appendChild(el("p", "mb-1 fw-semibold", "This AAD account has different values. When you save, AAD's values replace the saved ones:"));
      var ul = el("ul", "mb-0");
      rows.forEach(function (name) {
        var item = el("li");
        item.appendChild(el("span", "fw-semibold", (FIELD_LABELS[name] || name) + ": "));
        item.appendChild(el("span", "aad-diff-old", saved[name] || "(empty)"));
        item.appendChild(document.createTextNode(" → "));
        item.appendChild(el("span", "aad-diff-new", account[name]));
        ul.appendChild(item);
      });
      diffBox.appendChild(ul);
      diffBox.hidden = false;
      if (confirmed) { confirmed.value = "True"; }
    }

    function choose(account) {
      selected = account;
      var serverDifferences = form.querySelector("[data-aad-server-differences]");
      if (serverDifferences) { serverDifferences.hidden = true; }  // about the previous choice
      valueField.value = account ? account.id : "";
      if (account) { lock(account); } else { unlock(); }
      showDifferences(account);
      showSelection();
      close();
      status.textContent = account ? "Linked to " + account.label + " when you save." : "Direct input: type the fields yourself.";
    }

    input.addEventListener("focus", function () { input.select(); });
    input.addEventListener("input", scheduleSearch);
    input.addEventListener("keydown", function (event) {
      switch (event.key) {
        case "ArrowDown":
          event.preventDefault();
          if (list.hidden) { scheduleSearch(); } else { setActive(active + 1, 1); }
          break;
        case "ArrowUp":
          event.preventDefault();
          if (!list.hidden) { setActive(active - 1, -1); }
          break;
        case "Enter":
          if (!list.hidden && active >= 0 && !options[active].disabled) {
            event.preventDefault();
            choose(options[active].account);
          }
          break;
        case "Escape":
          if (!list.hidden) { event.preventDefault(); }
          close();
          showSelection();
          break;
        case "Tab":
          close();
          showSelection();
          break;
      }
    });
    input.addEventListener("blur", function () {
      setTimeout(function () {
        if (document.activeElement !== input) { close(); showSelection(); }
      }, 150);
    });
    toggle.addEventListener("click", function () {
      if (list.hidden) { input.focus(); search(""); } else { close(); showSelection(); }
    });

    if (selected) { lock(selected); }
    showSelection();
  }

  document.querySelectorAll("[data-aad-picker]").forEach(setup);
})();
