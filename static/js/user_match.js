// User > Link to AAD accounts: picking an account of an ambiguous row ticks the row, one box ticks every row with
// one proposed account, and the page says how many users are ticked. Without script the form works the same.
(function () {
  "use strict";
  var form = document.getElementById("match-form");
  if (!form) { return; }
  var ticks = Array.prototype.slice.call(form.querySelectorAll("[data-match-tick]"));
  var singles = ticks.filter(function (box) { return box.hasAttribute("data-single"); });
  var all = form.querySelector("[data-match-all]");
  var count = form.querySelector("[data-match-count]");

  function update() {
    var ticked = ticks.filter(function (box) { return box.checked; }).length;
    count.textContent = ticked === 1 ? "1 user ticked" : ticked + " users ticked";
    var singlesTicked = singles.filter(function (box) { return box.checked; }).length;
    all.checked = singles.length > 0 && singlesTicked === singles.length;
    all.indeterminate = singlesTicked > 0 && singlesTicked < singles.length;
  }

  ticks.forEach(function (box) { box.addEventListener("change", update); });
  Array.prototype.forEach.call(form.querySelectorAll("[data-match-pick]"), function (group) {
    group.addEventListener("change", function () {
      var box = document.getElementById("link-" + group.getAttribute("data-match-pick"));
      if (box && !box.checked) { box.checked = true; update(); }
    });
  });
  form.querySelector("[data-match-all-box]").hidden = singles.length === 0;
  all.addEventListener("change", function () {
    singles.forEach(function (box) { box.checked = all.checked; });
    update();
  });
  update();
})();
