/** A FIFO mutex for one journal handle: the flusher and withLock() take turns. */
export class HoldMutex {
  private tail: Promise<void> = Promise.resolve();
  /** Holders plus waiters: 0 when nobody holds or waits for the mutex. */
  private users = 0;

  /** True when nobody holds the mutex or waits for it (the append fast path may run). */
  get idle(): boolean {
    return this.users === 0;
  }

  async acquire(): Promise<() => void> {
    this.users++;
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => next);
    await prev;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.users--;
      release();
    };
  }
}
