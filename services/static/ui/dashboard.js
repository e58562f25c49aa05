/*
 * The dashboard's charts (chart.js): data and translated labels come from each
 * canvas' data-chart attribute, rendered by the server.
 */
(function () {
  'use strict';

  if (!window.Chart) return;
  const COLOURS = ['#1557a0', '#c62828', '#2e7d32', '#e65100'];
  const STYLES = {
    // Departments down the side: long Chinese names stay readable on a phone.
    load: { indexAxis: 'y', stacked: true },
    lead_times: { indexAxis: 'x', stacked: false }
  };

  document.querySelectorAll('canvas[data-chart]').forEach(function (canvas) {
    const data = JSON.parse(canvas.dataset.chart);
    const style = STYLES[canvas.dataset.kind] || STYLES.lead_times;
    if (style.indexAxis === 'y') {
      // One bar per department: grow with their number instead of squeezing them.
      canvas.parentElement.style.height = Math.max(240, data.labels.length * 30 + 80) + 'px';
    }
    const chart = new window.Chart(canvas, {
      type: 'bar',
      data: {
        labels: data.labels,
        datasets: data.series.map(function (series, index) {
          return {
            label: series.label,
            data: series.data,
            backgroundColor: COLOURS[(canvas.dataset.kind === 'lead_times' ? 0 : index) % COLOURS.length]
          };
        })
      },
      options: {
        indexAxis: style.indexAxis,
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: data.series.length > 1, position: 'bottom' } },
        scales: {
          x: { stacked: style.stacked, ticks: { precision: 0 } },
          y: { stacked: style.stacked, ticks: { precision: 0 } }
        }
      }
    });
    canvas.dataset.ready = String(chart.data.datasets.length);
  });
})();
