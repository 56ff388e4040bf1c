#!/bin/sh
# Builds the GraphiQL bundles that `amparo dev` serves offline, from the
# npm packages pinned in web/graphiql's lockfile (graphiql, react,
# react-dom): gzipped into graph/graphiql/assets, which git ignores. `make
# run` and `make test` call it through `make graphiql`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../web/graphiql/node_modules" && pwd)
z() { sed '/sourceMappingURL=/d' "$src/$1" | gzip -9n > "$here/assets/$2.gz"; }
z graphiql/graphiql.min.js graphiql.min.js
z graphiql/graphiql.min.css graphiql.min.css
z react/umd/react.production.min.js react.production.min.js
z react-dom/umd/react-dom.production.min.js react-dom.production.min.js
