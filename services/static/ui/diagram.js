// The instance diagram: bpmn-js Viewer plus a marker class on every element the
// instance finished (hq-done), is at (hq-active) or failed at (hq-failed).
(function () {
  "use strict";
  var container = document.getElementById("diagram");
  if (!container || !window.BpmnJS) {
    return;
  }
  var markers = JSON.parse(container.dataset.markers);
  var viewer = new window.BpmnJS({ container: container });

  function fail() {
    container.textContent = container.dataset.msgFailed;
    container.classList.add("diagram-failed");
  }

  fetch(container.dataset.diagramUrl, { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.text();
    })
    .then(function (xml) {
      return viewer.importXML(xml);
    })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      Object.keys(markers).forEach(function (kind) {
        markers[kind].forEach(function (id) {
          if (registry.get(id)) {
            canvas.addMarker(id, "hq-" + kind);
          }
        });
      });
      canvas.zoom("fit-viewport", "auto");
      container.dataset.ready = "true";
    })
    .catch(fail);
})();
