/**
 * What the Lambda bundles have in place of `mnemonist/lru-cache` (an esbuild alias,
 * lib/lambda-bundling.ts): the part the AWS SDK's endpoint cache (`@aws-sdk/endpoint-cache`, which
 * the DynamoDB client builds for endpoint discovery, off by default) calls — `get`, `set`, `has`,
 * `peek`, `clear` — on a `Map`, which keeps insertion order (the source IP guard's hints use it too,
 * with `delete`). About 0.4 KB instead of 6.5 KB with
 * mnemonist's typed arrays and iterators.
 */
export default class LRUCache<K, V> {
  private readonly items = new Map<K, V>();

  constructor(private readonly capacity: number) {}

  public get size(): number {
    return this.items.size;
  }

  /** The value, now the most recently used. */
  public get(key: K): V | undefined {
    if (!this.items.has(key)) return undefined;
    const value = this.items.get(key) as V;
    this.items.delete(key);
    this.items.set(key, value);
    return value;
  }

  /** The value, leaving the order as it is. */
  public peek(key: K): V | undefined {
    return this.items.get(key);
  }

  public has(key: K): boolean {
    return this.items.has(key);
  }

  /** Sets the value as the most recently used; when full, forgets the least recently used. */
  public set(key: K, value: V): this {
    this.items.delete(key);
    if (this.items.size >= this.capacity) {
      const oldest = this.items.keys().next();
      if (!oldest.done) this.items.delete(oldest.value);
    }
    this.items.set(key, value);
    return this;
  }

  /** Forgets a key; true when it was there. */
  public delete(key: K): boolean {
    return this.items.delete(key);
  }

  public clear(): void {
    this.items.clear();
  }
}
