/**
 * A Map that holds at most `capacity` entries and forgets the least recently used one
 * first. Per-replica caches are keyed by ids a client sends, so each must be bounded:
 * without the cap, a flood of well-formed random ids is memory that is never released.
 * A Map keeps insertion order, so "used" is "deleted and set again" and the oldest key
 * is the first one.
 */
export function createBoundedMap<V>(capacity: number) {
  const map = new Map<string, V>();
  return {
    /** The value, marked as just used. */
    get(key: string): V | undefined {
      const value = map.get(key);
      if (value === undefined) return undefined;
      map.delete(key);
      map.set(key, value);
      return value;
    },
    /** The value without marking it used (a peek that must not keep an entry alive). */
    peek(key: string): V | undefined {
      return map.get(key);
    },
    set(key: string, value: V): void {
      map.delete(key);
      map.set(key, value);
      if (map.size > capacity) map.delete(map.keys().next().value as string);
    },
    delete(key: string): boolean {
      return map.delete(key);
    },
    values(): IterableIterator<V> {
      return map.values();
    },
    clear(): void {
      map.clear();
    },
    get size(): number {
      return map.size;
    },
  };
}

export type BoundedMap<V> = ReturnType<typeof createBoundedMap<V>>;

/**
 * A set whose members expire `ttlMs` after they were added (0: nothing is kept), at most
 * `capacity` of them, least recently added evicted first. Ids known not to exist are kept
 * so (a repeated unknown id costs one query per TTL, a flood of random ids bounded memory,
 * and nothing real is evicted by it), and so are the sold-out flags.
 */
export function createExpiringSet(ttlMs: number, capacity: number) {
  const until = createBoundedMap<number>(capacity);
  return {
    /** True while the id is a member. */
    has(id: string): boolean {
      const t = until.peek(id);
      if (t === undefined) return false;
      if (t > Date.now()) return true;
      until.delete(id);
      return false;
    },
    add(id: string): void {
      if (ttlMs > 0) until.set(id, Date.now() + ttlMs);
    },
    delete(id: string): void {
      until.delete(id);
    },
    clear(): void {
      until.clear();
    },
    get size(): number {
      return until.size;
    },
  };
}
