const NONE: never[] = [];

/** A growable ring buffer queue: O(1) push/shift without the array re-indexing of Array#shift. */
export class Fifo<T> {
  /** Allocated on the first push: many queues (one per client) never hold anything. */
  private items: (T | undefined)[] = NONE;
  private head = 0;
  private count = 0;

  constructor(private readonly capacity = 16) {}

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
  }

  /** The i-th item from the front (0 = next to shift). */
  at(i: number): T | undefined {
    return i < this.count ? this.items[(this.head + i) % this.items.length] : undefined;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  private grow(): void {
    const old = this.items;
    const next = new Array<T | undefined>(Math.max(old.length * 2, this.capacity, 1));
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) % old.length];
    this.items = next;
    this.head = 0;
  }
}
