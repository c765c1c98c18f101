// Adds up the vitest JSON reports every package's `test` task wrote (test-results.json)
// and prints one closing line: "tests: N passed, N failed, N skipped". Exits 1 when a
// package has no report, a test failed, or nothing ran at all.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
let passed = 0;
let failed = 0;
let skipped = 0;
let problems = 0;
for (const name of readdirSync(join(root, "packages")).sort()) {
  const pkgJson = join(root, "packages", name, "package.json");
  if (!existsSync(pkgJson)) continue;
  if (!JSON.parse(readFileSync(pkgJson, "utf8")).scripts?.test) continue;
  const report = join(root, "packages", name, "test-results.json");
  if (!existsSync(report)) {
    console.error(`packages/${name}: no test-results.json (did its tests run?)`);
    problems++;
    continue;
  }
  const r = JSON.parse(readFileSync(report, "utf8"));
  const s = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.error(`packages/${name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${s} skipped`);
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += s;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || problems > 0 || passed === 0 ? 1 : 0);
