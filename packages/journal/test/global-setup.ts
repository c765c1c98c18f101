// Child-process fixtures import the built dist/: build it when it is missing or older than src/.
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  const pkg = fileURLToPath(new URL("..", import.meta.url));
  let builtAt = 0;
  try {
    builtAt = statSync(join(pkg, "dist", "index.js")).mtimeMs;
  } catch {
    builtAt = 0;
  }
  const newest = Math.max(...readdirSync(join(pkg, "src")).map((f) => statSync(join(pkg, "src", f)).mtimeMs));
  if (builtAt < newest) execFileSync("pnpm", ["run", "build"], { cwd: pkg, stdio: "inherit" });
}
