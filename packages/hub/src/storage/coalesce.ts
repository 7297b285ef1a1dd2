// Write coalescing ("group commit"): callers submit one item each and wait for its own result;
// items that arrive while earlier flushes are running are flushed together by one call. Under
// load this turns N round trips / transactions into one, and costs nothing when idle (an item
// arriving alone is flushed at once).

export interface CoalescerOptions<T> {
  /** Flushes running at once; more than one overlaps one flush's I/O with the next one's work. */
  concurrency: number;
  /** Upper bound on the summed weight of one flush (e.g. samples), so one flush stays bounded. */
  maxWeight: number;
  weight?: (item: T) => number;
  /** Items with the same key are never flushed together or concurrently: the later one waits. */
  key?: (item: T) => string;
}

interface Waiting<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * `flush` gets the items of one group and returns one result per item, in order; an `Error` in a
 * slot rejects that item alone, a thrown error rejects the whole group.
 */
export class Coalescer<T, R> {
  private readonly queue: Waiting<T, R>[] = [];
  private running = 0;
  private readonly keysInFlight = new Set<string>();

  constructor(
    private readonly flush: (items: T[]) => Promise<(R | Error)[]>,
    private readonly opts: CoalescerOptions<T>,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  get pending(): number {
    return this.queue.length;
  }

  private pump(): void {
    while (this.running < this.opts.concurrency && this.queue.length > 0) {
      const group = this.take();
      if (group.length === 0) return; // everything waiting is behind a key in flight
      this.running++;
      void this.run(group).finally(() => {
        this.running--;
        if (this.opts.key) for (const w of group) this.keysInFlight.delete(this.opts.key(w.item));
        this.pump();
      });
    }
  }

  /** Oldest first, up to maxWeight (at least one item), skipping keys in this group or in flight. */
  private take(): Waiting<T, R>[] {
    const { weight, key, maxWeight } = this.opts;
    const group: Waiting<T, R>[] = [];
    const keys = this.keysInFlight;
    let total = 0;
    for (let i = 0; i < this.queue.length; ) {
      const w = this.queue[i]!;
      const wWeight = weight ? weight(w.item) : 1;
      if (group.length > 0 && total + wWeight > maxWeight) break;
      const k = key?.(w.item);
      if (k !== undefined && keys.has(k)) {
        i++;
        continue;
      }
      if (k !== undefined) keys.add(k);
      total += wWeight;
      group.push(w);
      this.queue.splice(i, 1);
    }
    return group;
  }

  private async run(group: Waiting<T, R>[]): Promise<void> {
    try {
      const results = await this.flush(group.map((w) => w.item));
      group.forEach((w, i) => {
        const r = results[i];
        if (r instanceof Error) w.reject(r);
        else w.resolve(r as R);
      });
    } catch (err) {
      for (const w of group) w.reject(err);
    }
  }
}
