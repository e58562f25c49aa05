#!/usr/bin/env bash
# Copy the front-end libraries installed from npm into services/static/vendor,
# where the Flask app serves them: nothing is loaded from a CDN at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
vendor=services/static/vendor
rm -rf "$vendor"
mkdir -p "$vendor/swagger-ui"
cp node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui-standalone-preset.js,swagger-ui.css,favicon-32x32.png,LICENSE} "$vendor/swagger-ui/"
mkdir -p "$vendor/bpmn-js"
cp node_modules/bpmn-js/dist/{bpmn-viewer.production.min.js,bpmn-modeler.production.min.js} "$vendor/bpmn-js/"
cp -r node_modules/bpmn-js/dist/assets node_modules/bpmn-js/LICENSE "$vendor/bpmn-js/"
mkdir -p "$vendor/dmn-js" "$vendor/chart.js"
cp -r node_modules/dmn-js/dist/{dmn-viewer.production.min.js,assets} node_modules/dmn-js/LICENSE "$vendor/dmn-js/"
cp node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/LICENSE.md "$vendor/chart.js/"
echo "vendored front-end assets into $vendor"
