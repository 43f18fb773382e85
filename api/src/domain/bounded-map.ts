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
