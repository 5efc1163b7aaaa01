/** An array kept sorted by `compare`, with binary-search insert, remove and keyset reads. Items must be unique. */
export class SortedList<T> {
  private readonly items: T[] = [];

  constructor(private readonly compare: (a: T, b: T) => number) {}

  get size(): number {
    return this.items.length;
  }

  insert(item: T): void {
    const last = this.items[this.items.length - 1];
    // Time-ordered keys (ids, assignment times) mostly arrive in order: append without a search.
    if (last === undefined || this.compare(last, item) < 0) {
      this.items.push(item);
      return;
    }
    const i = this.lowerBound(item);
    const at = this.items[i];
    if (at !== undefined && this.compare(at, item) === 0) this.items[i] = item;
    else this.items.splice(i, 0, item);
  }

  remove(item: T): void {
    const i = this.lowerBound(item);
    const at = this.items[i];
    if (at !== undefined && this.compare(at, item) === 0) this.items.splice(i, 1);
  }

  /** Items strictly after `key` (from the start when undefined) that pass `accept`, at most `count`. */
  after(key: T | undefined, count: number, accept: (item: T) => boolean = () => true): T[] {
    const out: T[] = [];
    let i = key === undefined ? 0 : this.upperBound(key);
    for (; i < this.items.length && out.length < count; i++) {
      const item = this.items[i]!;
      if (accept(item)) out.push(item);
    }
    return out;
  }

  /** Index of the first item >= key. */
  private lowerBound(key: T): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(this.items[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first item > key. */
  private upperBound(key: T): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(this.items[mid]!, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Orders strings by code unit, like the `utf8mb4_bin` columns for ASCII ids. */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
