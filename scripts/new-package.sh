#!/usr/bin/env bash
# Creates packages/<name> with the layout every snap package shares (CONVENTIONS.md):
# dual ESM+CJS build with tsup, vitest, publint + attw. Usage:
#   scripts/new-package.sh <name> "<one-line description>" [dep ...]
# Internal deps are given as package names (e.g. @snap/schema) and become workspace:^.
set -euo pipefail
name=$1; desc=$2; shift 2
d="packages/$name"
[ -e "$d" ] && { echo "error: $d exists" >&2; exit 1; }
mkdir -p "$d/src" "$d/test"
deps=""
for dep in "$@"; do deps="$deps\"$dep\": \"workspace:^\", "; done
deps="{ ${deps%, } }"
node - "$d" "$name" "$desc" "$deps" <<'NODE'
const [dir, name, desc, deps] = process.argv.slice(2);
const fs = require("node:fs");
const pkg = {
  name: `@snap/${name}`, version: "0.0.0", description: desc, license: "MIT", type: "module",
  sideEffects: false, engines: { node: ">=20.19" },
  main: "./dist/index.cjs", module: "./dist/index.js", types: "./dist/index.d.cts",
  exports: {
    ".": {
      import: { types: "./dist/index.d.ts", default: "./dist/index.js" },
      require: { types: "./dist/index.d.cts", default: "./dist/index.cjs" },
    },
    "./package.json": "./package.json",
  },
  files: ["dist", "README.md", "CHANGELOG.md"],
  repository: { type: "git", url: "git+https://github.com/snap-dev/snap.git", directory: `packages/${name}` },
  publishConfig: { access: "public" },
  scripts: {
    build: "tsup", typecheck: "tsc --noEmit -p tsconfig.json",
    "lint:pkg": "publint --strict && attw --pack . --quiet", test: "vitest run",
  },
  dependencies: JSON.parse(deps), peerDependencies: { zod: "^4.1.0" }, devDependencies: { zod: "4.6.7" },
};
fs.writeFileSync(`${dir}/package.json`, JSON.stringify(pkg, null, 2) + "\n");
NODE
# tsup.config.ts and vitest.config.ts re-export the shared config/*.base.ts
cp packages/fs/tsup.config.ts packages/fs/tsconfig.json packages/fs/vitest.config.ts "$d/"
echo "export {};" > "$d/src/index.ts"
echo "created $d; now: pnpm install, write src/ and test/, README.md, and a changeset"
