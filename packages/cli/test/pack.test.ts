/**
 * Packaging: every package packed with `pnpm pack` (workspace:^ rewritten to versions),
 * installed from the tarballs with npm into an empty directory outside the workspace, and
 * the installed `snap` run there with npx: --version, init, commit, fsck. Needs the npm
 * registry (or cache) for zod, commander and proper-lockfile. SNAP_SKIP_PACK_TEST=1 skips it.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI_ROOT, tempDir, validateDoc } from "./snap.js";

const packagesDir = join(CLI_ROOT, "..");
const tmp = tempDir("snap-cli-pack-");
afterAll(() => tmp.cleanup());

/** The environment without pnpm's npm_* settings, so npm behaves as on a user's machine. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && !/^pnpm_/i.test(k)) env[k] = v;
  delete env.SNAP_STORE;
  return env;
}

const publishable = readdirSync(packagesDir).filter((name) => {
  const file = join(packagesDir, name, "package.json");
  return existsSync(file) && (JSON.parse(readFileSync(file, "utf8")) as { private?: boolean }).private !== true;
});

describe.skipIf(process.env.SNAP_SKIP_PACK_TEST === "1")("packed tarballs", () => {
  it("install with npm outside the workspace, and `npx snap` runs --version, init, commit and fsck there", () => {
    expect(publishable).toEqual(expect.arrayContaining(["schema", "fs", "object-store", "journal", "refs", "snapshots", "cli"]));
    const tarballs = join(tmp.dir, "tarballs");
    mkdirSync(tarballs);
    for (const name of publishable) {
      execFileSync("pnpm", ["pack", "--pack-destination", tarballs], { cwd: join(packagesDir, name), stdio: "pipe" });
    }
    const files = readdirSync(tarballs).filter((f) => f.endsWith(".tgz"));
    expect(files).toHaveLength(publishable.length);
    for (const f of files) {
      const listing = execFileSync("tar", ["-tzf", join(tarballs, f)], { encoding: "utf8" });
      expect(listing, f).toMatch(/package\/dist\/index\.js/);
      const manifest = execFileSync("tar", ["-xzOf", join(tarballs, f), "package/package.json"], { encoding: "utf8" });
      expect(manifest, `${f} still says workspace:`).not.toMatch(/workspace:/);
    }

    const app = join(tmp.dir, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), `${JSON.stringify({ name: "snap-pack-check", private: true })}\n`);
    const install = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...files.map((f) => join(tarballs, f))], { cwd: app, env: npmEnv(), encoding: "utf8" });
    expect(install.status, install.stderr).toBe(0);

    const npx = (...args: string[]) => spawnSync("npx", ["--no", "--", "snap", ...args], { cwd: app, env: npmEnv(), encoding: "utf8" });
    const version = npx("--version");
    expect(version.status, version.stderr).toBe(0);
    const cliPkg = JSON.parse(readFileSync(join(CLI_ROOT, "package.json"), "utf8")) as { version: string };
    expect(version.stdout.trim()).toBe(cliPkg.version);

    expect(npx("init").status).toBe(0);
    mkdirSync(join(app, "site"));
    writeFileSync(join(app, "site", "index.html"), "<h1>packed</h1>\n");
    const commit = npx("commit", "site", "--json");
    expect(commit.status, commit.stderr).toBe(0);
    const doc = JSON.parse(commit.stdout) as { type: string; artifacts: number };
    validateDoc(doc, "commit_result");
    expect(doc.artifacts).toBe(1);
    expect(npx("cat", "HEAD:index.html").stdout).toBe("<h1>packed</h1>\n");
    const fsck = npx("fsck", "--json");
    expect(fsck.status).toBe(0);
    validateDoc(JSON.parse(fsck.stdout) as { type: string }, "fsck_report");
  });
});
