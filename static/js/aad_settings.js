// MS AAD page: show the weekday or day-of-month picker only for the period that uses it.
(function () {
  "use strict";
  var period = document.getElementById("id_period");
  if (!period) { return; }
  function sync() {
    document.querySelectorAll("[data-period-extra]").forEach(function (el) {
      el.hidden = el.getAttribute("data-period-extra") !== period.value;
    });
  }
  period.addEventListener("change", sync);
  sync();
})();
