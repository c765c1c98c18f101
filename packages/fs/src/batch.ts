/**
 * Batched durability (git's core.fsyncMethod=batch, adapted): write many files without
 * fsync, then make them durable together: every file once, then every directory once.
 * Until `flush()` resolves, nothing added to the batch is promised to survive power loss.
 */
import { type FsSeam, nodeFs } from "./seam.js";

export interface FsyncBatchOptions {
  fs?: FsSeam;
  /** How many fsyncs run at once (the libuv pool has 4 threads by default). */
  concurrency?: number;
}

export class FsyncBatch {
  private readonly fs: FsSeam;
  private readonly concurrency: number;
  private files = new Set<string>();
  private dirs = new Set<string>();

  constructor(options: FsyncBatchOptions = {}) {
    this.fs = options.fs ?? nodeFs;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
  }

  /** Files waiting for fsync. */
  get pendingFiles(): number {
    return this.files.size;
  }

  get pendingDirs(): number {
    return this.dirs.size;
  }

  addFile(path: string): void {
    this.files.add(path);
  }

  addDir(path: string): void {
    this.dirs.add(path);
  }

  /**
   * fsyncs every pending file, then every pending directory (a name is durable only once
   * its file's data is, so files go first). Commit point: the last directory fsync.
   * Flushes run one after another: a flush called while another runs resolves only once
   * everything added before the call is durable, never earlier.
   */
  flush(): Promise<{ files: number; dirs: number }> {
    const run = this.tail.then(() => this.flushPending());
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private tail: Promise<void> = Promise.resolve();

  private async flushPending(): Promise<{ files: number; dirs: number }> {
    const files = [...this.files];
    const dirs = [...this.dirs];
    this.files = new Set();
    this.dirs = new Set();
    try {
      await runLimited(files, this.concurrency, async (path) => {
        const file = await this.fs.open(path, "r");
        try {
          await file.sync();
        } finally {
          await file.close();
        }
      });
      await runLimited(dirs, this.concurrency, (dir) => this.fs.syncDir(dir));
    } catch (err) {
      // Nothing from this flush is promised durable: keep it pending for the next flush.
      for (const f of files) this.files.add(f);
      for (const d of dirs) this.dirs.add(d);
      throw err;
    }
    return { files: files.length, dirs: dirs.length };
  }
}

/**
 * Runs `fn` over `items`, `limit` at a time. After a failure no new item is started, and
 * the promise settles only once every call in flight has: nothing of a failed flush runs
 * after flush() rejects (a caller may be simulating a crash at that very moment).
 */
async function runLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  });
  await Promise.all(workers);
  if (failure !== undefined) throw failure.error;
}
