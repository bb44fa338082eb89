#!/usr/bin/env bash
# Builds an AddressSanitizer copy of the native addon in a scratch copy of this tree and runs
# scripts/asan-native-tls.ts there (see that file). Not part of the suite: it takes minutes.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/gatehouse-asan-tree-XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$root" && git ls-files -co --exclude-standard | grep -v '^node_modules/' | tar -cf - -T -) | tar -xf - -C "$work"
ln -s "$root/node_modules" "$work/node_modules"
cd "$work"
sed -i 's/"cflags": \["-O2"/"cflags": ["-O1", "-g", "-fsanitize=address", "-fno-omit-frame-pointer"/; s/"conditions"/"ldflags": ["-fsanitize=address"], "conditions"/' binding.gyp
node scripts/build-native.mjs
npx tsc -p tsconfig.build.json
npx tsx scripts/asan-native-tls.ts
