#!/bin/sh
# Refresh the embedded GraphiQL bundles from npm: ./update.sh [graphiql-version]
# (not run by go generate: it needs the npm registry).
set -eu
v=${1:-3.8.3}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack "graphiql@$v" react@18.3.1 react-dom@18.3.1 >/dev/null
for f in *.tgz; do mkdir "${f%.tgz}"; tar xzf "$f" -C "${f%.tgz}"; done
z() { sed '/sourceMappingURL=/d' "$1" | gzip -9n > "$here/assets/$2.gz"; }
z "graphiql-$v/package/graphiql.min.js" graphiql.min.js
z "graphiql-$v/package/graphiql.min.css" graphiql.min.css
z react-18.3.1/package/umd/react.production.min.js react.production.min.js
z react-dom-18.3.1/package/umd/react-dom.production.min.js react-dom.production.min.js
{ echo "GraphiQL $v (npm graphiql), React 18.3.1 and ReactDOM 18.3.1 (npm react, react-dom), MIT licensed:"; echo
  echo "=== graphiql"; cat "graphiql-$v/package/LICENSE"; echo
  echo "=== react, react-dom"; cat react-18.3.1/package/LICENSE; } > "$here/assets/LICENSES.txt"
