/**
 * FIFO counting semaphore. Permits are handed straight to the oldest waiter on release, so a steady
 * stream of new callers can never overtake (and starve) callers that are already queued.
 */
export class Semaphore {
  #available: number;
  readonly #waiters: Array<() => void> = [];

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) {
      throw new RangeError(`semaphore permits must be a positive integer, got ${permits}`);
    }
    this.#available = permits;
  }

  /** Number of callers waiting for a permit. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Runs `task` once a permit is free, releasing the permit when it settles. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.#acquire();
    try {
      return await task();
    } finally {
      this.#release();
    }
  }

  #acquire(): Promise<void> {
    if (this.#available > 0) {
      this.#available--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #release(): void {
    const next = this.#waiters.shift();
    if (next) next();
    else this.#available++;
  }
}
