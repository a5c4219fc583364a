/**
 * Waiting on what a child process prints, without sleeps: each wait is a condition re-checked after
 * every line the process prints, with a deadline that fails it. Used by the multi-process benchmarks
 * and tests.
 */
export class OutputWaiters {
  #waiters: { check: () => boolean; resolve: () => void }[] = []

  /** Resolves when `check` holds (now, or after a later line); rejects with `timedOut()` after `ms`. */
  until(check: () => boolean, ms: number, timedOut: () => Error): Promise<void> {
    if (check()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(timedOut()), ms)
      this.#waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        }
      })
    })
  }

  /** Call after each line: settles the waits whose condition now holds. */
  notify(): void {
    this.#waiters = this.#waiters.filter((w) => (w.check() ? (w.resolve(), false) : true))
  }
}
