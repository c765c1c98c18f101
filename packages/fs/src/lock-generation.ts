/**
 * The store lock's generation (fencing token): strictly increasing over every acquisition
 * of one lock path, by any process, across crashes and power loss, without an fsync per
 * acquisition.
 *
 * On disk, for a lock path `L`:
 *   L.gen       the last generation handed out: decimal digits plus "\n" (a safe integer).
 *               Overwritten in place (one write at offset 0, NOT fsynced) by every
 *               acquisition before the lock is handed out. Generations only grow, so the new
 *               text is never shorter than the old and covers it whole (when it would be, as
 *               after a crash left junk, the file is replaced by tmp + rename instead). Not
 *               replaced by rename every time: on ext4 a rename over an existing file starts
 *               writeback of the new file (auto_da_alloc) and cost ~0.3 ms (p50) to several
 *               ms (p90) on a busy disk, more than the rest of the acquisition together. A
 *               process killed mid-write cannot tear it (one small write(2) reaches the page
 *               cache whole or not at all); power loss can, which the rule below absorbs. Its
 *               first creation, in a new store, is durable (publishFile, "always"), so a
 *               missing L.gen always means "no generation was ever handed out".
 *   L.gen-boot  the boot id (`FsSeam.bootId()`: the Linux boot id; the fault seam adds its
 *               power-loss count) under which the current run of L.gen values was written,
 *               plus "\n"; "unknown\n" when the seam has no boot id. Replaced (not fsynced)
 *               after L.gen by the first acquisition of each boot.
 *
 * The next generation, given `last` (the number in L.gen) and `now` (microseconds since the
 * Unix epoch, i.e. Date.now() * 1000):
 *   - L.gen and L.gen-boot both absent (a new store)                       -> 1
 *   - L.gen-boot names the current boot                                    -> last + 1
 *   - otherwise (first acquisition after a reboot or power loss, a store
 *     moved between machines, no boot id; L.gen empty, zeroed or otherwise
 *     unreadable as a number after a crash counts as last = 0)             -> max(last + 1, now)
 *   Under the current boot an L.gen that is not a number is refused (internal): no crash
 *   can have produced it, so something else wrote it.
 *
 * Why this never hands a generation out twice:
 *   - Within one boot every write to L.gen is in the page cache, which every process on the
 *     machine shares: the L.gen an acquirer reads under the lock is exactly the last one
 *     written, fsync or not. L.gen-boot is written after L.gen, so "L.gen-boot = this boot"
 *     implies L.gen was written in this boot (an acquirer that crashed between the two
 *     leaves the old boot id: the next one takes the `max` branch again, harmlessly).
 *   - Un-fsynced writes are lost only with the page cache, i.e. with a new boot. After it,
 *     L.gen-boot (whatever version survived) names an older boot, so the next acquisition
 *     takes `max(last + 1, now)`. Every generation handed out before is at most the clock at
 *     the time it was handed out: each run starts at 1 or at the clock, and counts up by one
 *     per acquisition, and acquisitions are serialized by the lock and take far longer than
 *     a microsecond each, so a run never overtakes the clock. So `now` exceeds all of them,
 *     PROVIDED THE WALL CLOCK DID NOT STEP BACKWARDS across the reboot (by more than the time
 *     the reboot took). Every holder from before the power loss is dead, so no write stamped
 *     with an old generation can still arrive.
 *   - The values stay safe integers: the clock term reaches 2^53 microseconds in the year
 *     2255. A generation that would exceed Number.MAX_SAFE_INTEGER is refused (internal).
 */
import { SnapError } from "@snap/schema";
import { type LockIo, replaceVolatile } from "./lock-io.js";
import { publishFile } from "./publish.js";
import { isCode } from "./seam.js";

export const UNKNOWN_BOOT = "unknown";

/** What an acquisition found in L.gen / L.gen-boot and what it will write. */
export interface GenerationPlan {
  generation: number;
  /** L.gen did not exist: create it durably. */
  create: boolean;
  /** L.gen's size now (0 when absent): the new text overwrites it in place when not shorter. */
  oldSize: number;
  /** The boot id to record in L.gen-boot, or undefined when it already holds it. */
  recordBoot: string | undefined;
}

/** What L.gen said: a number, nothing (ENOENT), or bytes that are not a number. */
export type LastGeneration = number | "absent" | "unreadable";

/** The rule in the module comment, as a pure function (unit-tested on its own). */
export function decideGeneration(input: {
  last: LastGeneration;
  recordedBoot: string | undefined;
  currentBoot: string | undefined;
  nowMs: number;
  genPath?: string;
  oldSize?: number;
}): GenerationPlan {
  const { last, recordedBoot, currentBoot } = input;
  const genPath = input.genPath ?? "<lock>.gen";
  const oldSize = input.oldSize ?? 0;
  const boot = currentBoot ?? UNKNOWN_BOOT;
  const recordBoot = recordedBoot === boot ? undefined : boot;
  if (last === "absent" && recordedBoot === undefined) return { generation: 1, create: true, oldSize, recordBoot };
  const sameBoot = currentBoot !== undefined && recordedBoot === currentBoot && last !== "absent";
  if (sameBoot && last === "unreadable") {
    throw new SnapError("internal", `lock generation file ${genPath} is malformed`, {
      data: { path: genPath },
      hint: "no crash leaves it so, so something else wrote it; restore a number greater than any generation used",
    });
  }
  const lastNumber = typeof last === "number" ? last : 0;
  const generation = sameBoot ? lastNumber + 1 : Math.max(lastNumber + 1, Math.floor(input.nowMs) * 1000);
  if (!Number.isSafeInteger(generation)) {
    throw new SnapError("internal", `lock generation ${generation} is past Number.MAX_SAFE_INTEGER`, {
      data: { path: genPath, last: lastNumber },
      hint: "the generation file holds a value near 2^53, which snap never writes; something else wrote it",
    });
  }
  return { generation, create: last === "absent", oldSize, recordBoot };
}

/** The bytes of L.gen and L.gen-boot as one acquisition read them (undefined: absent). */
export interface GenerationFiles {
  gen: Buffer | undefined;
  boot: Buffer | undefined;
}

/** Reads L.gen and L.gen-boot (writes nothing). */
export async function readGenerationFiles(io: LockIo, lockPath: string): Promise<GenerationFiles> {
  return { gen: await readOrUndefined(io, `${lockPath}.gen`), boot: await readOrUndefined(io, `${lockPath}.gen-boot`) };
}

/**
 * True when both reads found the same bytes. The store lock plans the generation from a read
 * made before it holds the lock and keeps the plan only if a read under the lock matches:
 * every acquisition writes a strictly greater number to L.gen, so unchanged bytes mean no
 * generation was handed out in between.
 */
export function sameGenerationFiles(a: GenerationFiles, b: GenerationFiles): boolean {
  const same = (x: Buffer | undefined, y: Buffer | undefined) => (x === undefined ? y === undefined : y !== undefined && x.equals(y));
  return same(a.gen, b.gen) && same(a.boot, b.boot);
}

/** The next generation given what L.gen and L.gen-boot held (the rule in the module comment). */
export function planFromFiles(io: LockIo, lockPath: string, files: GenerationFiles): GenerationPlan {
  return decideGeneration({
    last: parseGeneration(files.gen),
    recordedBoot: files.boot === undefined ? undefined : files.boot.toString("utf8").trim(),
    currentBoot: io.bootId(),
    nowMs: Date.now(),
    genPath: `${lockPath}.gen`,
    oldSize: files.gen?.length ?? 0,
  });
}

/** Reads L.gen and L.gen-boot and decides the next generation (writes nothing). */
export async function planGeneration(io: LockIo, lockPath: string): Promise<GenerationPlan> {
  return planFromFiles(io, lockPath, await readGenerationFiles(io, lockPath));
}

/**
 * Writes what `plan` decided. Must complete before the lock is handed out: after it, a
 * crash at any point leaves files from which the rule never hands `plan.generation` out again.
 */
export async function recordGeneration(io: LockIo, lockPath: string, plan: GenerationPlan): Promise<void> {
  const genPath = `${lockPath}.gen`;
  const text = Buffer.from(`${plan.generation}\n`);
  if (plan.create) {
    // The one durable write: "L.gen absent" must keep meaning "never handed out".
    await publishFile(genPath, text, { fs: io.seam, mode: "replace", durability: "always" });
  } else if (text.length >= plan.oldSize) {
    await io.overwrite(genPath, text); // commit point for this generation (see module comment)
  } else {
    await replaceVolatile(io, genPath, text); // commit point (junk longer than the number)
  }
  if (plan.recordBoot !== undefined) {
    await replaceVolatile(io, `${lockPath}.gen-boot`, Buffer.from(`${plan.recordBoot}\n`));
  }
}

/** A number, or "unreadable" (e.g. empty or zeroed: data that never reached the disk). */
function parseGeneration(bytes: Buffer | undefined): LastGeneration {
  if (bytes === undefined) return "absent";
  const text = bytes.toString("latin1").trim();
  return /^\d{1,17}$/.test(text) ? Number(text) : "unreadable";
}

async function readOrUndefined(io: LockIo, path: string): Promise<Buffer | undefined> {
  try {
    return await io.readFile(path);
  } catch (err) {
    if (isCode(err, "ENOENT")) return undefined;
    throw err;
  }
}
