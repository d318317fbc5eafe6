/**
 * Failed-attempt throttling per source address: a sliding window of failure
 * times, in memory (per-account lockout is persistent, in the store).
 */
export class AddressThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
  ) {}

  /** True when this address has used up its failures for the window. */
  isBlocked(address: string, now: number): boolean {
    return this.recent(address, now).length >= this.maxFailures;
  }

  fail(address: string, now: number): void {
    const list = this.recent(address, now);
    list.push(now);
    this.failures.set(address, list);
  }

  /** Drops addresses with no failure in the window; call periodically. */
  sweep(now: number): void {
    for (const address of [...this.failures.keys()]) if (this.recent(address, now).length === 0) this.failures.delete(address);
  }

  private recent(address: string, now: number): number[] {
    const list = (this.failures.get(address) ?? []).filter((t) => t > now - this.windowMs);
    if (list.length === 0) this.failures.delete(address);
    else this.failures.set(address, list);
    return list;
  }
}
