import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

describe("a worker's share of the decision lanes", () => {
  it('when WORKER_LANE_SHARE is i/W with i < W, then the worker knows its index and the count; unset or empty, no share', () => {
    expect(loadConfig({ WORKER_LANE_SHARE: '1/3' }).WORKER_LANE_SHARE).toEqual({ index: 1, of: 3 });
    expect(loadConfig({ WORKER_LANE_SHARE: '' }).WORKER_LANE_SHARE).toBeUndefined();
    expect(loadConfig({}).WORKER_LANE_SHARE).toBeUndefined();
  });

  it('when it is not i/W with 0 ≤ i < W, then the configuration is refused, naming the variable', () => {
    for (const bad of ['3/3', '0/0', '1', 'a/b', '-1/2'])
      expect(() => loadConfig({ WORKER_LANE_SHARE: bad }), bad).toThrow(/WORKER_LANE_SHARE/);
  });
});
