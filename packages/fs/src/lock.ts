/**
 * The store lock: one writer per store, across processes and within one process.
 *
 * Built on proper-lockfile (the heartbeat timer, the exit hook, the acquire/release calls it
 * routes through our `fs` adapter) with its known traps closed; see README "The store lock"
 * for the list. On the real filesystem every call is a synchronous node:fs call (lock-io.ts)
 * and nothing is fsynced per acquisition (lock-generation.ts).
 *
 * Acquisition is ONE rename(2) of a directory that already holds the complete owner record:
 * each process keeps a spare lock directory beside L (`L.spare-<pid>-<hex>/owner.json`),
 * rewrites the owner record inside it (in place: no inode is created), sets its mtime, and
 * renames it to L. rename(2) of a directory fails while L exists and holds anything
 * (ENOTEMPTY/EEXIST), so it is as atomic an acquire as mkdir(2), and there is no moment
 * at which L exists without its owner record: a holder killed at any point leaves either no
 * lock (its spare is debris) or a lock naming it, which is taken over at once once it is
 * dead. Release renames L back to the spare. An uncontended acquire + release creates and
 * frees no inode (inode allocation was ~0.3 ms per mkdir/create on the development VM's
 * ext4): ~10 metadata syscalls.
 *
 * On disk, for a lock path `L` (e.g. `<store>/lock`):
 *   L/              the lock: a directory, appearing by rename(2) with owner.json inside. Its
 *                   mtime is the holder's heartbeat, set before the rename and refreshed
 *                   every staleMs/3.
 *   L/owner.json    the holder: {"pid","host","process_start","generation","acquired_at",
 *                   "token"} as one JSON object plus "\n", complete before L appears, never
 *                   modified while it is L. `token` is 16 random bytes in hex, unique per
 *                   acquisition. Neither L/ nor owner.json is fsynced: after power loss every
 *                   holder is dead, and a lock left behind by a previous boot is taken over
 *                   at once (boot id in process_start).
 *                   An EMPTY directory at L (left by a holder killed between the two steps
 *                   of an older release, or by an older @snap/fs acquirer killed between its
 *                   mkdir and its owner record) is replaced by the rename: never waited for.
 *   L.spare-<pid>-<hex>/owner.json
 *                   a process's spare lock directory while it does not hold L (its last
 *                   owner record inside). Removed at exit; one left by a process that died
 *                   is removed by the next process that makes its own spare.
 *   L.gen, L.gen-boot
 *                   the last generation handed out and the boot it was written in; see
 *                   lock-generation.ts. Written by every acquisition BEFORE the lock is
 *                   handed out. The generation is a fencing token: writers stamp it on what
 *                   they write; a lower one than already seen marks a stale writer.
 *   L.break         a short-lived file (O_EXCL) held by whoever is removing a stale lock, so
 *                   two processes never break the same stale lock (proper-lockfile #121).
 *   L.stale-<hex>   a stale lock renamed aside for removal (debris if the breaker crashed).
 *
 * The generation must be in owner.json before the rename, but can only be decided under the
 * lock: it is planned from L.gen / L.gen-boot read before the rename, and kept only if a
 * read under the lock finds the same bytes (no acquisition happened in between); otherwise
 * the rename is undone and the attempt repeated at once.
 */
import { randomBytes } from "node:crypto";
import { rmdirSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import lockfile from "proper-lockfile";
import { SnapError, isSnapError } from "@snap/schema";
import { KeyedMutex } from "./mutex.js";
import {
  type GenerationPlan,
  planFromFiles,
  planGeneration,
  readGenerationFiles,
  recordGeneration,
  sameGenerationFiles,
} from "./lock-generation.js";
import { type LockIo, lockIoFor } from "./lock-io.js";
import { type ProcessIdentity, bootTimeMs, isDeadOnThisHost, selfIdentity } from "./process-identity.js";
import { type FsSeam, isCode, nodeFs } from "./seam.js";

export interface LockOwner {
  pid: number;
  host: string;
  /** Identifies the process beyond its pid (pids are reused): see process-identity.ts. */
  process_start: string;
  /** Fencing token: strictly increasing over every acquisition of this lock path. */
  generation: number;
  acquired_at: string;
  token: string;
}

export interface LockHolder extends LockOwner {
  /** Milliseconds since the holder acquired the lock. */
  age_ms: number;
  /** Milliseconds since the holder's last heartbeat (the lock directory's mtime). */
  heartbeat_age_ms: number;
}

export interface StoreLock {
  readonly path: string;
  readonly generation: number;
  /** True once the lock was lost (taken over, removed, or its heartbeat fell behind). */
  readonly compromised: boolean;
  /** Throws SnapError lock_compromised when the lock was lost, lock_not_held after release. */
  assertHeld(): void;
  /** Removes the lock if it is still ours. Never throws for a compromised lock. */
  release(): Promise<void>;
}

export interface AcquireLockOptions {
  fs?: FsSeam;
  /** Give up after this long (default 10 000 ms) with SnapError lock_timeout. */
  timeoutMs?: number;
  /** A holder whose heartbeat is older than this is taken over (default 30 000, min 2 000). */
  staleMs?: number;
  signal?: AbortSignal;
  /** Called once, never from inside a throw, when the lock is found compromised. */
  onCompromised?: (err: SnapError) => void;
}

export const OWNER_FILE = "owner.json";
/** proper-lockfile never judges staleness itself: its stale removal is the #121 race. */
const NEVER_STALE = 1e12;
const MIN_STALE_MS = 2_000;
const SLEEP_MIN_MS = 2;
const SLEEP_MAX_MS = 50;

const processMutex = new KeyedMutex();

/**
 * Test-only: SNAP_FS_LOCK_TEST_PAUSE=<point> makes an acquisition stop for good at <point>
 * (after printing "lock-test-pause <point> <pid>" on stdout), so a crash test can SIGKILL a
 * process exactly there (it prints {"event":"lock-test-pause","point","pid"} on stdout first).
 * Points: "spare-ready" (owner record written in the spare, before the rename), "renamed"
 * (L renamed into place, before the generation is recorded).
 */
const TEST_PAUSE = process.env.SNAP_FS_LOCK_TEST_PAUSE;
function testPause(point: string): void {
  if (TEST_PAUSE !== point) return;
  writeSync(1, `${JSON.stringify({ event: "lock-test-pause", point, pid: process.pid })}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // until killed
}

/** Error code of an attempt that found its generation plan outdated: retried at once. */
const RETRY = "ESNAPLOCKRETRY";

/** Acquires the lock at `lockPath` (a directory; its parent is created if missing). */
export async function acquireLock(lockPath: string, options: AcquireLockOptions = {}): Promise<StoreLock> {
  const io = lockIoFor(options.fs ?? nodeFs);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 30_000;
  if (!(timeoutMs >= 0) || !(staleMs >= MIN_STALE_MS)) {
    throw new SnapError("invalid_argument", `acquireLock: timeoutMs must be >= 0 and staleMs >= ${MIN_STALE_MS}`, {
      data: { timeoutMs, staleMs },
    });
  }
  const path = resolve(lockPath);
  const deadline = Date.now() + timeoutMs;
  throwIfAborted(options.signal, path);

  // Same-process contenders queue here; only the head of the queue touches the filesystem.
  let releaseMutex: () => void;
  try {
    releaseMutex = await processMutex.acquire(path, timeoutMs, () => new QueueTimeout(), options.signal);
  } catch (err) {
    if (err instanceof QueueTimeout) throw await timeoutError(io, path, timeoutMs);
    throw interrupted(path, err);
  }

  try {
    let sleepMs = SLEEP_MIN_MS;
    for (;;) {
      throwIfAborted(options.signal, path);
      const attempt = await tryAcquire(io, path, staleMs, options.onCompromised, releaseMutex);
      if (attempt.lock) return attempt.lock;
      const seen = attempt.seen;
      if (seen === null) {
        // Vanished before we could look at it, or our generation plan was outdated: again at once.
        if (Date.now() > deadline) throw await timeoutError(io, path, timeoutMs);
        continue;
      }
      if (breakReason(seen, staleMs) !== null && (await breakStaleLock(io, path, seen, staleMs))) continue;
      const left = deadline - Date.now();
      if (left <= 0) throw await timeoutError(io, path, timeoutMs);
      // Jittered, growing, short sleeps bounded by the deadline (not retry's 1 s, 2 s, 4 s).
      await sleep(Math.min(left, sleepMs / 2 + Math.random() * (sleepMs / 2)), options.signal, path);
      sleepMs = Math.min(SLEEP_MAX_MS, sleepMs * 1.5);
    }
  } catch (err) {
    releaseMutex();
    throw err;
  }
}

/** Runs `fn` holding the lock, and releases it however `fn` ends. */
export async function withLock<T>(
  lockPath: string,
  fn: (lock: StoreLock) => Promise<T>,
  options?: AcquireLockOptions,
): Promise<T> {
  const lock = await acquireLock(lockPath, options);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/** Who holds the lock at `lockPath` now, or null when it is free (or its owner unreadable). */
export async function readLockHolder(lockPath: string, options: { fs?: FsSeam } = {}): Promise<LockHolder | null> {
  const seen = await observe(lockIoFor(options.fs ?? nodeFs), resolve(lockPath));
  if (seen === null || seen.owner === null) return null;
  const now = Date.now();
  return {
    ...seen.owner,
    age_ms: Math.max(0, now - Date.parse(seen.owner.acquired_at)),
    heartbeat_age_ms: Math.max(0, now - seen.mtimeMs),
  };
}

// ---------------------------------------------------------------------------------------
// One acquisition attempt through proper-lockfile

interface Observation {
  owner: LockOwner | null;
  mtimeMs: number;
  ino: number;
}

type Attempt = { lock: StoreLock; seen?: undefined } | { lock?: undefined; seen: Observation | null };

class HeldLock implements StoreLock {
  readonly token = randomBytes(16).toString("hex");
  generation = 0;
  /** True once our mkdir created the lock directory (proper-lockfile's probe phase follows). */
  created = false;
  /** True from the moment proper-lockfile hands the lock over (heartbeat phase). */
  acquired = false;
  released = false;
  compromiseError: SnapError | undefined;
  /** The mtime we last set (probe or heartbeat), and when that succeeded. */
  lastMtime = new Date(0);
  lastTouchOk = Date.now();
  unlock: (() => Promise<void>) | undefined;
  /** Our spare directory, renamed to the lock while we hold it. */
  spare: Spare | undefined;

  constructor(
    readonly path: string,
    readonly io: LockIo,
    readonly staleMs: number,
    private readonly onCompromised: ((err: SnapError) => void) | undefined,
  ) {}

  /** Frees the in-process queue; set only once the lock is handed to the caller. */
  releaseMutex: () => void = () => undefined;

  get compromised(): boolean {
    this.checkOverdue();
    return this.compromiseError !== undefined;
  }

  /** Past this age the heartbeat is too old to trust: others may already judge us stale. */
  overdue(): boolean {
    return Date.now() - this.lastTouchOk > this.staleMs * 0.9;
  }

  checkOverdue(): void {
    if (this.acquired && !this.released && this.compromiseError === undefined && this.overdue()) {
      this.compromise(`heartbeat of ${this.path} is ${Date.now() - this.lastTouchOk} ms old (staleMs ${this.staleMs})`);
    }
  }

  /** Marks the lock lost and tells the caller; never throws (it runs inside timers). */
  compromise(reason: string, cause?: unknown): void {
    if (this.compromiseError !== undefined) return;
    this.compromiseError = new SnapError("lock_compromised", `store lock ${this.path} was lost: ${reason}`, {
      data: { lock_path: this.path, generation: this.generation, token: this.token },
      hint: "another process may have taken the lock over; abandon this operation without committing and retry it",
      cause,
    });
    try {
      this.onCompromised?.(this.compromiseError);
    } catch (err) {
      process.emitWarning(`onCompromised callback threw: ${String(err)}`, "SnapLockWarning");
    }
  }

  assertHeld(): void {
    if (this.released) {
      throw new SnapError("lock_not_held", `store lock ${this.path} was already released`, {
        data: { lock_path: this.path, generation: this.generation },
      });
    }
    this.checkOverdue();
    if (this.compromiseError !== undefined) throw this.compromiseError;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.checkOverdue();
    this.released = true;
    try {
      // proper-lockfile stops the heartbeat, then calls our adapter's rmdir, which removes
      // the lock only if owner.json still carries our token (see lockfileFs).
      await this.unlock?.();
    } catch (err) {
      if (!isCode(err, "ERELEASED")) throw err; // ERELEASED: already compromised, nothing to remove
    } finally {
      this.releaseMutex();
    }
  }
}

async function tryAcquire(
  io: LockIo,
  path: string,
  staleMs: number,
  onCompromised: ((err: SnapError) => void) | undefined,
  releaseMutex: () => void,
): Promise<Attempt> {
  const held = new HeldLock(path, io, staleMs, onCompromised);
  try {
    held.unlock = await lockfile.lock(path, {
      lockfilePath: path,
      realpath: false, // #100/#99/#69/#2: realpath needs the locked file to exist
      retries: 0, // our own loop retries (#118: retry's 1 s minimum, no jitter)
      stale: NEVER_STALE,
      update: Math.max(1000, Math.floor(staleMs / 3)),
      fs: lockfileFs(held),
      // The default throws inside a timer and kills the process (qwen-code #8442).
      onCompromised: (err: Error) => held.compromise(err.message, err),
    });
  } catch (err) {
    if (isCode(err, "ELOCKED")) return { seen: await observe(io, path) };
    if (isCode(err, RETRY)) return { seen: null };
    throw err;
  }
  held.acquired = true;
  held.lastTouchOk = Date.now();
  // Verify the directory we hold is the one we created (no takeover raced the probe).
  const owner = await readOwner(io, path);
  if (owner?.token !== held.token) {
    held.compromise("owner record changed during acquisition");
    await held.release();
    return { seen: await observe(io, path) };
  }
  held.releaseMutex = releaseMutex;
  return { lock: held };
}

type Callback<T = void> = (err: Error | null, value?: T) => void;

/** Runs `op` (sync or async) and ignores its error: cleanup that may find nothing to clean. */
async function bestEffort(op: () => unknown): Promise<void> {
  try {
    await op();
  } catch {
    // nothing to undo
  }
}

/** Runs `op` (sync or async), treating ENOENT as done. */
async function unlessMissing(op: () => unknown): Promise<void> {
  try {
    await op();
  } catch (err) {
    if (!isCode(err, "ENOENT")) throw err;
  }
}

/**
 * The `fs` proper-lockfile calls (callback style), routed through our LockIo, with the hooks
 * that harden it: mkdir also writes the owner record and the generation; proper-lockfile's
 * mtime-precision probe (utimes + stat after mkdir) is answered from memory, because we
 * never compare mtimes; the heartbeat's stat verifies our token instead of comparing mtimes
 * exactly (#82/#79/obsidian #31); rmdir removes only a lock whose owner record is still ours.
 */
function lockfileFs(held: HeldLock) {
  const { io, path } = held;
  const cb = <T>(p: Promise<T>, callback: Callback<T>) => {
    p.then(
      (v) => callback(null, v),
      (err: Error) => callback(err),
    );
  };
  return {
    mkdir(p: string, callback: Callback) {
      cb(acquireByRename(held, p), callback);
    },
    stat(p: string, callback: Callback<{ mtime: Date }>) {
      if (!held.acquired) {
        // Before hand-over proper-lockfile stats (a) after EEXIST, to judge staleness itself:
        // we answer "fresh" (our loop judges staleness from a real stat, see observe());
        // (b) in its mtime-precision probe right after our mkdir: we answer the mtime its
        // utimes "set" (see utimes). No syscall either way.
        callback(null, { mtime: held.created ? held.lastMtime : new Date() });
        return;
      }
      // Heartbeat: is the lock still ours? (A mismatch reports ENOENT: proper-lockfile then
      // declares the lock compromised and stops its timer.)
      cb(
        (async () => {
          held.checkOverdue();
          if (held.compromiseError !== undefined) throw lostError(held.compromiseError.message);
          let owner: LockOwner | null;
          try {
            owner = await readOwner(io, p);
          } catch (err) {
            if (held.overdue()) throw lostError(`cannot read owner record: ${String(err)}`);
            throw err; // transient: proper-lockfile retries in 1 s
          }
          if (owner === null) throw lostError("lock directory or owner record removed");
          if (owner.token !== held.token) {
            throw lostError(`taken over by pid ${owner.pid} on ${owner.host} (generation ${owner.generation})`);
          }
          return { mtime: held.lastMtime };
        })(),
        callback,
      );
    },
    utimes(p: string, atime: Date, mtime: Date, callback: Callback) {
      if (!held.acquired) {
        // The mtime-precision probe: the directory was created a moment ago, so its mtime is
        // already fresh, and the precision only matters to mtime comparisons we never make.
        held.lastMtime = mtime;
        callback(null);
        return;
      }
      cb(
        (async () => {
          await io.utimes(p, atime, mtime); // the heartbeat
          held.lastMtime = mtime;
          held.lastTouchOk = Date.now();
        })(),
        callback,
      );
    },
    rmdir(p: string, callback: Callback) {
      cb(releaseByRename(held, p), callback);
    },
    // proper-lockfile's exit handler (signal-exit): remove a still-held lock on normal exit,
    // SIGINT or SIGTERM. Only on the real filesystem; best effort, synchronous.
    rmdirSync(p: string) {
      if (io.seam !== nodeFs || held.compromiseError !== undefined || held.released) return;
      try {
        unlinkSync(join(p, OWNER_FILE));
      } catch {
        // already gone
      }
      rmdirSync(p);
      spares.delete(path); // it was our spare, renamed to L
    },
    realpath(p: string, callback: Callback<string>) {
      callback(null, resolve(p));
    },
  };
}

// ---------------------------------------------------------------------------------------
// Acquire and release by rename, through this process's spare lock directory

interface Spare {
  /** `L.spare-<pid>-<hex>`: beside L, so rename(2) never crosses a filesystem. */
  readonly path: string;
  /** Bytes of spare/owner.json now (0: not written yet). */
  ownerSize: number;
  /** True while the spare is renamed to L (held). */
  inUse: boolean;
  readonly io: LockIo;
}

/** This process's spare directory per lock path (one acquisition per path at a time: processMutex). */
const spares = new Map<string, Spare>();
let exitHookInstalled = false;

const SPARE_INFIX = ".spare-";

/** The spare of `path`, created (with the parent directory, if missing) on first use. */
async function spareFor(io: LockIo, path: string): Promise<Spare> {
  const known = spares.get(path);
  if (known !== undefined && known.io === io) return known;
  await removeDeadSpares(io, path);
  const spare: Spare = { path: `${path}${SPARE_INFIX}${process.pid}-${randomBytes(4).toString("hex")}`, ownerSize: 0, inUse: false, io };
  try {
    await io.mkdir(spare.path);
  } catch (err) {
    if (!isCode(err, "ENOENT")) throw err;
    // proper-lockfile #100/#2: the parent must exist. Created only when missing.
    await io.mkdir(dirname(spare.path), { recursive: true });
    await io.mkdir(spare.path);
  }
  spares.set(path, spare);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", removeIdleSparesSync);
  }
  return spare;
}

/** At exit: remove every spare not renamed to a lock (a held one is removed by proper-lockfile's exit hook). */
function removeIdleSparesSync(): void {
  for (const spare of spares.values()) {
    if (spare.inUse || spare.io.seam !== nodeFs) continue;
    try {
      if (spare.ownerSize > 0) unlinkSync(join(spare.path, OWNER_FILE));
      rmdirSync(spare.path);
    } catch {
      // best effort: the next process removes a dead process's spare
    }
  }
  spares.clear();
}

/** Removes the spares of processes that are dead on this host (SIGKILLed, crashed). */
async function removeDeadSpares(io: LockIo, path: string): Promise<void> {
  const prefix = `${basename(path)}${SPARE_INFIX}`;
  let names: string[];
  try {
    names = await io.readdir(dirname(path));
  } catch {
    return; // the parent does not exist yet
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const dir = join(dirname(path), name);
    let owner: LockOwner | null = null;
    try {
      owner = await readOwner(io, dir);
    } catch {
      continue;
    }
    // Without an owner record yet, the pid in the name is all there is (`<pid>-<hex>`).
    const pid = Number(name.slice(prefix.length).split("-")[0]);
    const who: ProcessIdentity =
      owner !== null ? pickIdentity(owner) : { pid, host: selfIdentity().host, process_start: "unknown" };
    if (who.pid === process.pid || !isDeadOnThisHost(who)) continue;
    await bestEffort(() => removeDir(io, dir));
  }
}

/** Writes `data` as the spare's owner.json: in place when not shorter (no new inode). */
async function writeSpareOwner(spare: Spare, data: Buffer): Promise<void> {
  const { io } = spare;
  const file = join(spare.path, OWNER_FILE);
  if (spare.ownerSize > 0 && data.length >= spare.ownerSize) {
    await io.overwrite(file, data);
  } else {
    if (spare.ownerSize > 0) await unlessMissing(() => io.unlink(file));
    await io.createFile(file, data);
  }
  spare.ownerSize = data.length;
}

/** Codes rename(2) of a directory gives when the target name is taken by something non-empty. */
function lockExists(err: unknown): boolean {
  return isCode(err, "EEXIST") || isCode(err, "ENOTEMPTY") || isCode(err, "ENOTDIR") || isCode(err, "EISDIR");
}

/**
 * proper-lockfile's "mkdir": the acquisition. Rejects EEXIST while the lock is held, RETRY
 * when the generation plan turned out outdated (the rename is undone), anything else on error.
 */
async function acquireByRename(held: HeldLock, p: string): Promise<void> {
  const { io, path } = held;
  // (1) The owner record, complete, in our spare (not visible as the lock yet).
  const before = await readGenerationFiles(io, path);
  let plan: GenerationPlan | undefined;
  try {
    plan = planFromFiles(io, path, before);
  } catch {
    plan = undefined; // decided again under the lock (a malformed L.gen is refused there)
  }
  const owner: LockOwner = {
    ...pickIdentity(selfIdentity()),
    generation: plan?.generation ?? 0,
    acquired_at: new Date().toISOString(),
    token: held.token,
  };
  const record = Buffer.from(`${JSON.stringify(owner)}\n`);
  let spare: Spare;
  for (let attempt = 0; ; attempt++) {
    spare = await spareFor(io, path);
    try {
      await writeSpareOwner(spare, record);
      const now = new Date();
      await io.utimes(spare.path, now, now); // the heartbeat starts fresh
      break;
    } catch (err) {
      spares.delete(path); // removed under us (by hand, or a power loss undid its creation): a new one
      if (!isCode(err, "ENOENT") || attempt > 0) throw err;
    }
  }
  testPause("spare-ready");
  // (2) The acquisition: one rename (commit point). It fails while L holds anything.
  try {
    await io.rename(spare.path, p);
  } catch (err) {
    if (lockExists(err)) throw Object.assign(new Error(`${p} is locked`), { code: "EEXIST" });
    if (isCode(err, "ENOENT")) {
      spares.delete(path); // our spare (or its parent) vanished: again, with a new one
      throw Object.assign(new Error(`spare lock directory ${spare.path} vanished`), { code: RETRY });
    }
    throw err;
  }
  spare.inUse = true;
  held.created = true;
  held.spare = spare;
  testPause("renamed");
  // (3) Under the lock: keep the plan only if no acquisition happened since it was made.
  try {
    const under = await readGenerationFiles(io, path);
    if (plan === undefined || !sameGenerationFiles(before, under)) {
      planFromFiles(io, path, under); // throws if L.gen is malformed under this boot
      throw Object.assign(new Error("generation plan outdated"), { code: RETRY });
    }
    held.generation = plan.generation;
    await recordGeneration(io, path, plan);
  } catch (err) {
    // Give the lock back (it is ours: nobody takes over a live, fresh holder).
    spare = held.spare;
    await bestEffort(async () => {
      await io.rename(p, spare.path);
      spare.inUse = false;
    });
    if (spare.inUse) spares.delete(path);
    held.created = false;
    throw err;
  }
}

/** proper-lockfile's "rmdir": the release. Renames L back to our spare, if L is still ours. */
async function releaseByRename(held: HeldLock, p: string): Promise<void> {
  const { io, path } = held;
  if (held.compromiseError !== undefined) return; // not ours any more: leave it
  const owner = await readOwner(io, p);
  if (owner !== null && owner.token !== held.token) {
    held.compromise(`taken over by pid ${owner.pid} before release`);
    return;
  }
  const spare = held.spare;
  if (spare === undefined || owner === null) {
    // Removed from under us (by hand), or never ours: nothing of ours to move.
    return;
  }
  try {
    await io.rename(p, spare.path); // commit point of the release
  } catch (err) {
    if (isCode(err, "ENOENT")) return;
    throw err;
  }
  spare.inUse = false;
  // A breaker may have swapped L between our read and the rename: check what we moved.
  const moved = await readOwner(io, spare.path).catch(() => null);
  if (moved?.token !== held.token) {
    spares.delete(path); // not ours: never reuse it
    await bestEffort(() => io.rename(spare.path, p));
    held.compromise(`taken over by pid ${moved?.pid ?? "?"} during release`);
  }
}

function lostError(message: string): Error {
  return Object.assign(new Error(message), { code: "ENOENT" });
}

function pickIdentity(id: ProcessIdentity): ProcessIdentity {
  return { pid: id.pid, host: id.host, process_start: id.process_start };
}

// ---------------------------------------------------------------------------------------
// Reading the holder, judging and breaking a stale lock

function decodeOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (
      typeof o.pid === "number" &&
      typeof o.host === "string" &&
      typeof o.process_start === "string" &&
      typeof o.generation === "number" &&
      typeof o.acquired_at === "string" &&
      typeof o.token === "string"
    ) {
      return {
        pid: o.pid,
        host: o.host,
        process_start: o.process_start,
        generation: o.generation,
        acquired_at: o.acquired_at,
        token: o.token,
      };
    }
  } catch {
    // torn or foreign: treated as ownerless
  }
  return null;
}

/** The owner record in lock directory `dir`; null when missing or unreadable as a record. */
async function readOwner(io: LockIo, dir: string): Promise<LockOwner | null> {
  try {
    return decodeOwner((await io.readFile(join(dir, OWNER_FILE))).toString("utf8"));
  } catch (err) {
    if (isCode(err, "ENOENT") || isCode(err, "ENOTDIR")) return null;
    throw err;
  }
}

async function observe(io: LockIo, dir: string): Promise<Observation | null> {
  try {
    const st = await io.stat(dir);
    const owner = await readOwner(io, dir);
    return { owner, mtimeMs: st.mtimeMs, ino: st.ino };
  } catch (err) {
    if (isCode(err, "ENOENT")) return null;
    throw err;
  }
}

/** Why `seen` may be taken over now, or null when it must be waited for. */
function breakReason(seen: Observation, staleMs: number): "dead" | "stale" | null {
  if (seen.owner !== null && isDeadOnThisHost(seen.owner)) return "dead";
  // Ownerless and older than this boot: its acquirer died in a power loss after the lock
  // directory's name reached the disk but before owner.json's data did (neither is fsynced).
  if (seen.owner === null && seen.mtimeMs < bootTimeMs() - 2_000) return "dead";
  if (Date.now() - seen.mtimeMs > staleMs) return "stale";
  return null;
}

function sameLock(a: Observation, b: Observation): boolean {
  return a.ino === b.ino && a.owner?.token === b.owner?.token;
}

/**
 * Removes the stale lock `seen`, closing proper-lockfile #121 (two holders after a stale
 * takeover): breakers serialize on `L.break` (O_EXCL), re-check under it that `L` is still
 * the same stale lock (inode and token), move it aside by one atomic rename and check again
 * what they moved before deleting it. Returns true when the caller should retry at once.
 */
async function breakStaleLock(io: LockIo, path: string, seen: Observation, staleMs: number): Promise<boolean> {
  const breaker = `${path}.break`;
  const token = randomBytes(8).toString("hex");
  try {
    await io.createFile(
      breaker,
      Buffer.from(`${JSON.stringify({ ...pickIdentity(selfIdentity()), token, at: new Date().toISOString() })}\n`),
    );
  } catch (err) {
    if (!isCode(err, "EEXIST")) throw err;
    await clearDeadBreaker(io, breaker, staleMs);
    return false;
  }
  try {
    const now = await observe(io, path);
    if (now === null) return true;
    if (!sameLock(now, seen) || breakReason(now, staleMs) === null) return false;
    const aside = `${path}.stale-${token}`;
    try {
      await io.rename(path, aside);
    } catch (err) {
      if (isCode(err, "ENOENT")) return true;
      throw err;
    }
    const moved = await observe(io, aside);
    if (moved === null || !sameLock(moved, now)) {
      // We moved a lock we did not judge (its holder released and someone re-acquired in
      // between): put it back. rename(2) fails if `path` was re-created meanwhile; that
      // holder then sees its owner record gone at its next heartbeat (compromised).
      await bestEffort(() => io.rename(aside, path));
      return false;
    }
    await removeDir(io, aside);
    return true;
  } finally {
    await bestEffort(() => io.unlink(breaker));
  }
}

/** A breaker file left by a crashed breaker (dead on this host, or older than staleMs). */
async function clearDeadBreaker(io: LockIo, breaker: string, staleMs: number): Promise<void> {
  let text: string;
  let mtimeMs: number;
  try {
    mtimeMs = (await io.stat(breaker)).mtimeMs;
    text = (await io.readFile(breaker)).toString("utf8");
  } catch (err) {
    if (isCode(err, "ENOENT")) return;
    throw err;
  }
  let rec: (ProcessIdentity & { token?: string }) | null = null;
  try {
    rec = JSON.parse(text) as ProcessIdentity & { token?: string };
  } catch {
    rec = null;
  }
  const dead = rec !== null && typeof rec.pid === "number" && isDeadOnThisHost(rec);
  if (!dead && Date.now() - mtimeMs <= staleMs) return;
  const aside = `${breaker}.stale-${randomBytes(8).toString("hex")}`;
  try {
    await io.rename(breaker, aside);
  } catch (err) {
    if (isCode(err, "ENOENT")) return;
    throw err;
  }
  let movedText = "";
  try {
    movedText = (await io.readFile(aside)).toString("utf8");
  } catch {
    movedText = "";
  }
  // Moved a fresh breaker by mistake: link it back (never over a newer one).
  if (movedText !== text) await bestEffort(() => io.link(aside, breaker));
  await bestEffort(() => io.unlink(aside));
}

async function removeDir(io: LockIo, dir: string): Promise<void> {
  for (const name of await io.readdir(dir)) await io.unlink(join(dir, name));
  await io.rmdir(dir);
}

// ---------------------------------------------------------------------------------------
// Timeouts, aborts, sleeping

class QueueTimeout extends Error {}

async function timeoutError(io: LockIo, path: string, timeoutMs: number): Promise<SnapError> {
  const holder = await readLockHolder(path, { fs: io.seam }).catch(() => null);
  let age = 0;
  if (holder === null) {
    const seen = await observe(io, path).catch(() => null);
    if (seen !== null) age = Math.max(0, Date.now() - seen.mtimeMs);
  } else age = holder.age_ms;
  const owner: LockOwner | null =
    holder === null
      ? null
      : {
          pid: holder.pid,
          host: holder.host,
          process_start: holder.process_start,
          generation: holder.generation,
          acquired_at: holder.acquired_at,
          token: holder.token,
        };
  const who =
    owner === null
      ? "an unknown holder (no owner record)"
      : owner.pid === process.pid && owner.host === selfIdentity().host
        ? `this process (pid ${owner.pid}, generation ${owner.generation})`
        : `pid ${owner.pid} on ${owner.host} (generation ${owner.generation})`;
  return new SnapError(
    "lock_timeout",
    `store lock ${path} is held by ${who} for ${age} ms; gave up after ${timeoutMs} ms`,
    {
      data: { lock_path: path, holder: owner, age_ms: age, timeout_ms: timeoutMs },
      hint:
        owner === null
          ? `retry later; if no snap process is running, remove the directory ${path}`
          : `wait for pid ${owner.pid} to finish and retry; a holder that died on this host is taken over ` +
            `automatically, one on another host after the stale timeout (or remove ${path} if you are sure it is gone)`,
    },
  );
}

function interrupted(path: string, cause: unknown): SnapError {
  if (isSnapError(cause)) return cause;
  return new SnapError("interrupted", `acquiring store lock ${path} was aborted`, {
    data: { lock_path: path },
    cause,
  });
}

function throwIfAborted(signal: AbortSignal | undefined, path: string): void {
  if (signal?.aborted) throw interrupted(path, signal.reason);
}

function sleep(ms: number, signal: AbortSignal | undefined, path: string): Promise<void> {
  return new Promise((resolveSleep, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(interrupted(path, signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolveSleep();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
