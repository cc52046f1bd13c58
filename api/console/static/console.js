// Keyboard shortcuts of the review page, and clickable table rows. No framework, nothing fetched from elsewhere.
(function () {
  document.querySelectorAll("tr.row[data-href]").forEach(function (row) {
    row.addEventListener("click", function (event) {
      if (event.target.closest("a, button, input")) return;
      window.location = row.dataset.href;
    });
  });
  var form = document.getElementById("review-form");
  document.addEventListener("keydown", function (event) {
    if (event.target.closest("input[type=text], textarea, select, input:not([type])")) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key.toLowerCase();
    if (form) {
      var box = form.querySelector('input[type=checkbox][data-key="' + key + '"]');
      if (box) { box.checked = !box.checked; event.preventDefault(); return; }
      var button = form.querySelector('button[data-key="' + key + '"]');
      if (button) { event.preventDefault(); button.click(); return; }
    }
    var link = document.querySelector('a[data-key="' + key + '"]');
    if (link) { event.preventDefault(); link.click(); }
  });
})();
