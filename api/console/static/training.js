// The registry page's training jobs: while one is open, its progress, epoch and log follow the worker's beats
// (GET /console/models/training.json every few seconds); when one ends, the page reloads to show its candidate.
(function () {
  "use strict";
  var table = document.getElementById("training-jobs");
  if (!table) { return; }

  function open() {
    return table.querySelectorAll("tr[data-job][data-done='false']").length > 0;
  }

  function show(job) {
    var row = document.getElementById("job-" + job.id);
    if (!row) { return; }
    if (job.done) { window.location.reload(); return; }
    row.querySelector(".job-status").textContent = job.status_told;
    row.querySelector("progress").value = job.progress;
    var words = [job.percent];
    if (job.stage_told) { words.push(job.stage_told); }
    if (job.epochs) { words.push(job.epoch_told); }  // told by the server in the page's language
    if (job.device) { words.push(job.device); }
    row.querySelector(".job-progress").textContent = words.join(" · ");
    var figures = row.querySelector(".job-figures");
    figures.textContent = "";
    Object.keys(job.figures).forEach(function (name) {
      var line = document.createElement("div");
      line.textContent = name + " " + job.figures[name];
      figures.appendChild(line);
    });
    var log = document.querySelector("#job-log-" + job.id + " pre");
    if (log) { log.textContent = job.log.join("\n"); }
  }

  function poll() {
    if (!open()) { return; }
    fetch("/console/models/training.json", { credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (body) {
        if (body) { body.jobs.forEach(show); }
        window.setTimeout(poll, 3000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 3000);
})();
