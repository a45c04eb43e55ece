// The report's by-day chart.  The data comes from the page's JSON block
// (<script type="application/json" id="report-data">): no inline script, so the CSP holds.
(function () {
  "use strict";
  // A preset replaces the dates typed for "custom": clear them, so they cannot be sent stale.
  var presets = document.querySelectorAll('.presets input[name="preset"]');
  Array.prototype.forEach.call(presets, function (radio) {
    radio.addEventListener("change", function () {
      if (radio.checked && radio.value !== "custom") {
        ["from", "to"].forEach(function (id) {
          var input = document.getElementById(id);
          if (input) input.value = "";
        });
      }
    });
  });
  var block = document.getElementById("report-data");
  var canvas = document.getElementById("days-chart");
  if (!block || !canvas || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(block.textContent);
  var funnel = document.getElementById("funnel-chart");
  if (funnel && data.funnel) {
    new Chart(funnel, {
      type: "bar",
      data: { labels: data.funnel.labels,
              datasets: [{ label: data.funnel.label, data: data.funnel.data, backgroundColor: "#2b6cb0" }] },
      options: { indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
                 plugins: { legend: { display: false } },
                 scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
  var colours = ["#2b6cb0", "#d69e2e", "#2f855a", "#9b2c2c"];
  new Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: data.series.map(function (s, i) {
        return { label: s.label, data: s.data, borderColor: colours[i % colours.length],
                 backgroundColor: colours[i % colours.length], tension: 0 };
      })
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
    }
  });
})();
