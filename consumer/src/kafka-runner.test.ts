import { createLogger } from '@clinical-ingest/intake-core';
import { describe, expect, it } from 'vitest';
import { resumeOnAssignment } from './kafka-runner.js';

const log = createLogger('test', { level: 'silent' });
const noWait = async () => {};

describe('resumeOnAssignment', () => {
  it('retries a failed resume (a deadlock, a restart) until it succeeds, then seeks once', async () => {
    let calls = 0;
    const seeks: [number, number][] = [];
    await resumeOnAssignment(3, {
      resume: async () => {
        if (++calls < 3) throw new Error('deadlock detected');
        return 42;
      },
      seek: (p, n) => seeks.push([p, n]),
      current: () => true,
      log,
      sleep: noWait,
    });
    expect(calls).toBe(3);
    expect(seeks).toEqual([[3, 42]]);
  });

  it('stops retrying, and does not seek, once a newer assignment replaced it', async () => {
    let current = true;
    let calls = 0;
    const seeks: unknown[] = [];
    await resumeOnAssignment(1, {
      resume: async () => {
        calls++;
        current = false; // the group rebalanced while this attempt ran
        throw new Error('connection reset');
      },
      seek: (...a) => seeks.push(a),
      current: () => current,
      log,
      sleep: noWait,
    });
    expect(calls).toBe(1);
    expect(seeks).toEqual([]);
  });
});
