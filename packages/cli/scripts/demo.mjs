#!/usr/bin/env node
// The snap demo (the root README's main job, `pnpm demo`): with the built `snap` binary,
// create a .snap store in a demo directory, commit a sample site twice with a change, show
// the runs and the diff, release to a target directory, revert, check the store, and print
// where to look next. Re-running it starts over (it only ever deletes a directory it made).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const cliRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repoRoot = resolve(cliRoot, "..", "..");
const bin = join(cliRoot, "dist", "bin.js");
const demoDir = resolve(process.env.SNAP_DEMO_DIR ?? join(repoRoot, "demo-site"));
const MARKER = ".snap-demo";

const tty = process.stdout.isTTY === true && !process.env.NO_COLOR;
const bold = (s) => (tty ? `\u001b[1m${s}\u001b[22m` : s);
const dim = (s) => (tty ? `\u001b[2m${s}\u001b[22m` : s);

if (!existsSync(bin)) {
  console.error(`error: ${relative(process.cwd(), bin)} is missing; run \`pnpm build\` (or \`pnpm demo\`, which builds first)`);
  process.exit(1);
}

function step(title) {
  console.log(`\n${bold(`== ${title}`)}`);
}

/** Run `snap ARGS` in the demo directory, echoing the command; stop the demo on failure. */
function snap(...args) {
  console.log(dim(`$ snap ${args.map((a) => (/[\s'"]/.test(a) ? `'${a}'` : a)).join(" ")}`));
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: demoDir, stdio: "inherit", env: { ...process.env, SNAP_STORE: "" } });
  if (r.status !== 0) {
    console.error(`\ndemo failed: \`snap ${args.join(" ")}\` exited with ${r.status ?? r.signal}`);
    process.exit(1);
  }
}

function write(rel, text) {
  const path = join(demoDir, "build", rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

function show(rel) {
  console.log(dim(`$ cat ${rel}`));
  process.stdout.write(readFileSync(join(demoDir, rel), "utf8"));
}

// A fresh demo directory; never delete a directory the demo did not create.
if (existsSync(demoDir)) {
  if (!existsSync(join(demoDir, MARKER))) {
    console.error(`error: ${demoDir} exists and was not made by the demo; set SNAP_DEMO_DIR to another directory`);
    process.exit(1);
  }
  rmSync(demoDir, { recursive: true, force: true });
}
mkdirSync(demoDir, { recursive: true });
writeFileSync(join(demoDir, MARKER), "made by packages/cli/scripts/demo.mjs; safe to delete\n");

console.log(bold(`snap demo in ${demoDir}`));

step("1. create a store: .snap/ in the demo directory");
snap("init");

step("2. a build produces a small site in build/; snapshot it");
write("index.html", "<h1>Hello</h1>\n<p>Version 1 of the site.</p>\n");
write("about.html", "<h1>About</h1>\n<p>Built by a pipeline.</p>\n");
write("assets/style.css", "body { font-family: sans-serif; }\n");
write("posts/2026-11-01.md", "# First post\n\nHello, world.\n");
snap("commit", "build", "-m", "first build");

step("3. the next build changes a page, adds a post, drops one; snapshot again");
write("index.html", "<h1>Hello</h1>\n<p>Version 2 of the site, now with a blog.</p>\n");
write("posts/2026-11-22.md", "# Second post\n\nsnap keeps every build.\n");
rmSync(join(demoDir, "build", "about.html"));
snap("commit", "build", "-m", "second build");

step("4. the runs so far");
snap("runs");

step("5. what changed between the two builds");
snap("diff", "HEAD~1", "HEAD");
snap("diff", "HEAD~1", "HEAD", "--patch");

step("6. release the first build to ./public, then the second (each an atomic symlink swap)");
snap("release", "HEAD~1", "--to", "prod", "--target", "public");
show("public/index.html");
snap("release", "HEAD", "--to", "prod");
show("public/index.html");

step("7. something is wrong with it: revert prod to the previous release");
snap("revert", "prod");
show("public/index.html");
snap("releases", "prod");

step("8. check the store: every object's hash, every link, every ref");
snap("fsck");

const next = [
  [`cd ${relative(process.cwd(), demoDir) || "."}`, "the demo: build/ (the input), public/ (the release), .snap/ (the store)"],
  [`alias snap="node ${bin}"`, "the built binary on your PATH (or: npx @snap/cli once published)"],
  ["snap --help", "every command, with examples"],
  ["snap log; snap show HEAD", "history, and one snapshot"],
  ["snap ls HEAD -l", "the artifacts of a snapshot, with their content oids"],
  ["snap diff HEAD~1 HEAD --json", "the machine-readable diff (schemas: packages/cli/json-schema/)"],
  ["snap journal read", "the store's journal: every ref transaction"],
  ["packages/cli/README.md", "the CLI: every command, exit codes, --json shapes"],
  ["docs/architecture.md", "how the packages fit together and what survives a crash"],
];
const width = Math.max(...next.map(([a]) => a.length));
console.log(`\n${bold("Where to look next")}`);
for (const [what, why] of next) console.log(`  ${what.padEnd(width)}  ${dim(why)}`);
