#!/usr/bin/env bash
# Copy the front-end libraries installed from npm into services/static/vendor,
# where the Flask app serves them: nothing is loaded from a CDN at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
vendor=services/static/vendor
rm -rf "$vendor"
mkdir -p "$vendor/swagger-ui"
cp node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui-standalone-preset.js,swagger-ui.css,favicon-32x32.png,LICENSE} "$vendor/swagger-ui/"
echo "vendored front-end assets into $vendor"
