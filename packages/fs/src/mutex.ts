/**
 * A keyed FIFO mutex for one process. The store lock is not reentrant across the
 * filesystem (a second mkdir by the same process just sees the lock held), so contenders in
 * one process queue here first and only the head of the queue touches the filesystem.
 */
export class KeyedMutex {
  private readonly queues = new Map<string, Array<() => void>>();
  private readonly held = new Set<string>();

  /**
   * Resolves with a release function once `key` is free. Rejects with `onTimeout()`'s error
   * after `timeoutMs`, or with `signal`'s reason when aborted; a rejected waiter leaves the queue.
   */
  acquire(key: string, timeoutMs: number, onTimeout: () => Error, signal?: AbortSignal): Promise<() => void> {
    if (!this.held.has(key)) {
      this.held.add(key);
      return Promise.resolve(this.releaser(key));
    }
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(key) ?? [];
      this.queues.set(key, queue);
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        const i = queue.indexOf(grant);
        if (i >= 0) queue.splice(i, 1);
      };
      const grant = () => {
        cleanup();
        resolve(this.releaser(key));
      };
      const onAbort = () => {
        cleanup();
        reject(signal?.reason ?? new Error("aborted"));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(onTimeout());
      }, Math.max(0, timeoutMs));
      signal?.addEventListener("abort", onAbort, { once: true });
      queue.push(grant);
    });
  }

  isHeld(key: string): boolean {
    return this.held.has(key);
  }

  private releaser(key: string): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.queues.get(key)?.shift();
      if (next) next(); // ownership passes straight to the next waiter
      else {
        this.held.delete(key);
        this.queues.delete(key);
      }
    };
  }
}
