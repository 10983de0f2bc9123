import { describe, expect, it } from 'vitest';
import { KeyCache } from './key-cache.ts';

describe('KeyCache', () => {
  it('evicts least recently used entries to stay within the byte budget, disposing them', () => {
    const disposed: string[] = [];
    const cache = new KeyCache<string>(10, (v) => disposed.push(v));
    cache.set('a', 'A', 4);
    cache.set('b', 'B', 4);
    expect(cache.get('a')).toBe('A'); // a is now the most recent
    cache.set('c', 'C', 4);
    expect(disposed).toEqual(['B']);
    expect(cache.has('a') && cache.has('c')).toBe(true);
    expect(cache.bytes).toBe(8);
  });

  it('refuses a value larger than the whole budget without disturbing the rest', () => {
    const disposed: string[] = [];
    const cache = new KeyCache<string>(10, (v) => disposed.push(v));
    cache.set('a', 'A', 5);
    expect(cache.set('big', 'BIG', 11)).toBe(false);
    expect(cache.has('a')).toBe(true);
    expect(disposed).toEqual([]);
  });

  it('replacing a key disposes the old value; clear disposes everything', () => {
    const disposed: string[] = [];
    const cache = new KeyCache<string>(10, (v) => disposed.push(v));
    cache.set('a', 'A1', 3);
    cache.set('a', 'A2', 3);
    cache.set('b', 'B', 3);
    cache.clear();
    expect(disposed).toEqual(['A1', 'A2', 'B']);
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
  });
});
