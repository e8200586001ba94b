// MS AAD page, Modify: choose the look-up's groups by name. The Groups text box (one object ID a line) stays the
// form's field; this script hides it behind a search box and a list of chosen groups, and keeps it filled.
(function () {
  "use strict";
  var root = document.querySelector("[data-scope-groups]");
  if (!root) { return; }
  var field = root.querySelector("textarea[name='scope_groups']");
  var scopeInputs = document.querySelectorAll("input[name='scope']");
  if (!field) { return; }
  var searchUrl = root.getAttribute("data-search-url");
  var chosen = [];
  try { chosen = JSON.parse(root.getAttribute("data-groups") || "[]"); } catch (e) { chosen = []; }
  var MAX = 20;
  var DEBOUNCE_MS = 250;
  var timer = null;
  var asked = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // The text box stays in the page (it is what the form sends) but only the picker is shown.
  var fieldRow = field.closest(".mb-3") || field.parentNode;
  field.hidden = true;
  field.setAttribute("aria-hidden", "true");
  field.tabIndex = -1;
  var fieldLabel = fieldRow.querySelector("label");
  if (fieldLabel) { fieldLabel.hidden = true; }  // the search box below carries the visible label

  var picker = el("div", "cm-group-picker");
  var label = el("label", "form-label", "Find groups by name");
  label.htmlFor = "group-search";
  var input = el("input", "form-control");
  input.id = "group-search";
  input.type = "search";
  input.autocomplete = "off";
  input.setAttribute("aria-describedby", "group-search-status");
  var status = el("div", "form-text", "");
  status.id = "group-search-status";
  status.setAttribute("aria-live", "polite");
  var results = el("ul", "list-group mt-1");
  results.setAttribute("aria-label", "Groups found");
  var chosenTitle = el("p", "mb-1 mt-2 fw-semibold", "Chosen groups");
  var chosenList = el("ul", "list-unstyled d-flex flex-wrap gap-2 mb-0");
  chosenList.setAttribute("aria-label", "Chosen groups");
  chosenList.setAttribute("data-testid", "chosen-groups");
  picker.append(label, input, status, results, chosenTitle, chosenList);
  fieldRow.parentNode.insertBefore(picker, fieldRow.nextSibling);

  function save() {
    field.value = chosen.map(function (group) { return group.id; }).join("\n");
  }

  function renderChosen() {
    chosenList.textContent = "";
    if (!chosen.length) { chosenList.appendChild(el("li", "cm-hint", "None yet: search above and add a group.")); }
    chosen.forEach(function (group, index) {
      var item = el("li", "badge text-bg-light border d-inline-flex align-items-center gap-1");
      item.appendChild(el("span", "", group.name || group.id));
      var remove = el("button", "btn btn-sm btn-link p-0 text-decoration-none", "×");
      remove.type = "button";
      remove.setAttribute("aria-label", "Remove " + (group.name || group.id));
      remove.addEventListener("click", function () {
        chosen.splice(index, 1);
        save();
        renderChosen();
        input.focus();
      });
      item.appendChild(remove);
      chosenList.appendChild(item);
    });
  }

  function add(group) {
    if (chosen.some(function (g) { return g.id === group.id; })) { return; }
    if (chosen.length >= MAX) {
      status.textContent = "At most " + MAX + " groups: remove one to add another.";
      return;
    }
    chosen.push({ id: group.id, name: group.name });
    save();
    renderChosen();
    status.textContent = "Added " + group.name + ".";
  }

  function showResults(groups) {
    results.textContent = "";
    groups.forEach(function (group) {
      var item = el("li", "list-group-item p-0");
      var button = el("button", "btn btn-link w-100 text-start px-3 py-1");
      button.type = "button";
      button.setAttribute("aria-label", "Add " + group.name + " (" + group.kind + ")");
      button.appendChild(el("span", "", group.name));
      button.appendChild(el("span", "cm-hint ms-2", group.kind));
      button.addEventListener("click", function () { add(group); });
      item.appendChild(button);
      results.appendChild(item);
    });
  }

  function search(text) {
    var mine = ++asked;
    if (!text) { showResults([]); status.textContent = ""; return; }
    status.textContent = "Searching…";
    fetch(searchUrl + "?q=" + encodeURIComponent(text), { headers: { "Accept": "application/json" },
                                                          credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (mine !== asked) { return; }  // a later search answers instead
        if (data.error) { showResults([]); status.textContent = data.error; return; }
        showResults(data.groups);
        status.textContent = data.groups.length ? data.groups.length + " group(s) found." : "No group found.";
      })
      .catch(function () { status.textContent = "Could not reach the portal; try again."; });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    var text = input.value.trim();
    timer = window.setTimeout(function () { search(text); }, DEBOUNCE_MS);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); }  // Enter searches, it never submits the settings
  });

  function showForScope() {
    var groups = Array.prototype.some.call(scopeInputs, function (radio) { return radio.checked && radio.value === "groups"; });
    root.hidden = !groups;
  }
  Array.prototype.forEach.call(scopeInputs, function (radio) { radio.addEventListener("change", showForScope); });
  renderChosen();
  showForScope();
})();
