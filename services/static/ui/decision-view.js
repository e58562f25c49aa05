/*
 * A deployed DMN file in the dmn-js viewer: its decision tables, one at a time.
 * With several decisions in the file, a button per decision switches between them.
 */
(function () {
  'use strict';

  const container = document.getElementById('decision');
  if (!container || !window.DmnJS) return;
  const viewer = new window.DmnJS({ container: container });

  function fail() {
    container.textContent = container.dataset.msgFailed;
    container.classList.add('diagram-failed');
  }

  function switcher(views) {
    const nav = document.createElement('div');
    nav.className = 'decision-switch';
    views.forEach(function (view) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = view.name || view.id;
      button.addEventListener('click', function () { viewer.open(view); });
      nav.append(button);
    });
    container.before(nav);
  }

  fetch(container.dataset.xmlUrl, { credentials: 'same-origin' })
    .then(function (response) {
      if (!response.ok) throw new Error('HTTP ' + response.status);
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      const tables = viewer.getViews().filter(function (view) { return view.type === 'decisionTable'; });
      if (tables.length > 1) switcher(tables);
      return tables.length ? viewer.open(tables[0]) : null;
    })
    .then(function () { container.dataset.ready = 'true'; })
    .catch(fail);
})();
