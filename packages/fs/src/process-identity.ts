/**
 * Who a process is, well enough to tell whether a lock holder on this host is still alive.
 * A pid alone is not an identity: pids are reused. On Linux a process is identified by
 * (boot id, pid, start time in clock ticks since boot: field 22 of /proc/<pid>/stat), which
 * no other process shares until the next reboot. Elsewhere the start time is approximated
 * from process.uptime() and only pid liveness (kill(pid, 0)) can be checked.
 */
import { readFileSync } from "node:fs";
import { hostname, uptime } from "node:os";

export interface ProcessIdentity {
  pid: number;
  host: string;
  /** "linux:<boot id>:<start ticks>" on Linux, "approx:<ISO time>" elsewhere. */
  process_start: string;
}

let self: ProcessIdentity | undefined;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function bootId(): string | undefined {
  return readText("/proc/sys/kernel/random/boot_id")?.trim() || undefined;
}

let cachedBoot: string | undefined;

/**
 * This machine's current boot: the Linux boot id (a random UUID per boot), elsewhere the
 * boot time in seconds derived from the uptime (it may differ by a second between calls,
 * which only ever makes a caller think a reboot happened: the safe direction). Constant for
 * the life of a process on Linux, so cached.
 */
export function currentBootId(): string {
  cachedBoot ??= bootId();
  if (cachedBoot !== undefined) return `linux:${cachedBoot}`;
  return `uptime:${Math.round(Date.now() / 1000 - uptime())}`;
}

/** Start time of `pid` in clock ticks since boot (Linux), or undefined. */
function linuxStartTicks(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // "pid (comm) state ppid ..." - comm may contain spaces and parentheses: split after the last ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return rest[19]; // field 22 (starttime); rest[0] is field 3 (state)
}

function startOf(pid: number): string | undefined {
  const boot = bootId();
  const ticks = linuxStartTicks(pid);
  return boot !== undefined && ticks !== undefined ? `linux:${boot}:${ticks}` : undefined;
}

/** When this machine booted (wall clock, milliseconds; about a second of jitter). */
export function bootTimeMs(): number {
  return Date.now() - uptime() * 1000;
}

export function selfIdentity(): ProcessIdentity {
  if (self === undefined || self.pid !== process.pid) {
    self = {
      pid: process.pid,
      host: hostname(),
      process_start:
        startOf(process.pid) ?? `approx:${new Date(Date.now() - process.uptime() * 1000).toISOString()}`,
    };
  }
  return self;
}

/**
 * True only when `holder` certainly no longer runs: it ran on this host and either its pid
 * is gone (kill(pid, 0) -> ESRCH), the host rebooted since, or the pid now belongs to a
 * process that started at another time (pid reuse). Holders on other hosts are never
 * judged dead here (only the stale timeout applies to them).
 */
export function isDeadOnThisHost(holder: ProcessIdentity): boolean {
  if (holder.host !== hostname()) return false;
  if (!Number.isInteger(holder.pid) || holder.pid <= 0) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return true;
    // EPERM: the pid exists but belongs to another user; fall through to the start-time check.
  }
  if (holder.process_start.startsWith("linux:")) {
    const [, recordedBoot] = holder.process_start.split(":");
    const boot = bootId();
    if (boot !== undefined && recordedBoot !== boot) return true; // rebooted since
    const now = startOf(holder.pid);
    if (now !== undefined && now !== holder.process_start) return true; // pid reused
  }
  return false;
}
