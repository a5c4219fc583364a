/** The p-th percentile (0 to 100) of `sorted` (ascending, not empty): the nearest-rank value. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
