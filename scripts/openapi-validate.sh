#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Validates docs/openapi.yaml with a real OpenAPI 3.0 validator: @apidevtools/swagger-parser
# (npm; checks the document against the OpenAPI 3.0 JSON Schema, resolves every $ref and checks
# path parameters and operationId uniqueness), installed once into build/npm. When the Python
# openapi-spec-validator is on the PATH it runs too, as a second opinion. Not part of `make check`
# (it needs the npm registry once) but of .ci/run; the route table itself is checked by
# tests/api/test_api. Exit 0 valid, 1 invalid, 2 when the validator cannot be had.
set -eu
cd "$(dirname "$0")/.."
doc=${1:-docs/openapi.yaml}
ver=12.1.0 # 13.x needs Node >= 22.19; Debian 12 and the CI image have Node 20
dir=build/npm
if [ ! -f "$dir/node_modules/@apidevtools/swagger-parser/package.json" ]; then
    command -v npm >/dev/null 2>&1 || { echo "openapi-validate: npm is not installed (apt-get install npm)" >&2; exit 2; }
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error \
        "@apidevtools/swagger-parser@$ver" >/dev/null ||
        { echo "openapi-validate: npm could not install @apidevtools/swagger-parser@$ver" >&2; exit 2; }
fi
NODE_PATH="$PWD/$dir/node_modules" node -e '
const SwaggerParser = require("@apidevtools/swagger-parser");
const file = process.argv[1];
SwaggerParser.validate(file).then((api) => {
  let n = 0;
  for (const p of Object.values(api.paths))
    for (const m of ["get", "put", "post", "delete", "patch", "head", "options", "trace"])
      if (p[m]) n++;
  console.log(`openapi-validate: ${file}: valid OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths, ${n} operations (swagger-parser)`);
}).catch((e) => { console.error(`openapi-validate: ${file}: ${e.message}`); process.exit(1); });
' "$doc"
if command -v openapi-spec-validator >/dev/null 2>&1; then
    openapi-spec-validator "$doc" | sed 's/^/openapi-validate: openapi-spec-validator: /'
fi
