import type { Logger } from '@clinical-ingest/intake-core';
import type { WorkQueue } from './queue.js';
import type { ReconcileResult } from './reconcile.js';

export interface KeyReconciler {
  reconcile(key: string): Promise<ReconcileResult>;
}

/**
 * Workers draining the per-key queue: each key is reconciled by one worker at a time; a
 * retriable failure backs off per key, success forgets the failures, and every pass asks to be
 * requeued on the poll timer (lag sends no events).
 */
export class Controller {
  private running: Promise<void>[] = [];

  constructor(
    private readonly queue: WorkQueue,
    private readonly reconciler: KeyReconciler,
    private readonly log: Logger,
    private readonly workers = 2,
  ) {}

  start(): void {
    if (this.running.length > 0) return;
    for (let i = 0; i < this.workers; i++) this.running.push(this.worker());
  }

  /** Processes one key; exposed for tests. Returns false once the queue is shut down. */
  async processNext(): Promise<boolean> {
    const key = await this.queue.get();
    if (key === undefined) return false;
    try {
      const r = await this.reconciler.reconcile(key);
      if (r.error) {
        const ms = this.queue.addRateLimited(key);
        this.log.warn({ pipeline: key, err: r.error, retryInMs: ms }, 'reconcile failed; retrying');
      } else {
        this.queue.forget(key);
        if (r.requeueAfterMs !== undefined) this.queue.addAfter(key, r.requeueAfterMs);
      }
    } catch (e) {
      const ms = this.queue.addRateLimited(key);
      this.log.error({ pipeline: key, err: e, retryInMs: ms }, 'reconcile threw; retrying');
    } finally {
      this.queue.done(key);
    }
    return true;
  }

  private async worker(): Promise<void> {
    while (await this.processNext()) {
      // next key
    }
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.running);
    this.running = [];
  }
}
