#!/usr/bin/env node
/**
 * The operator process: configuration validated first, then clients, informers on every replica
 * (they serve the external metrics from the pipelines' status), and the reconcile workers only
 * on the replica that holds the Lease.
 */
import { createLogger } from '@clinical-ingest/intake-core';
import { KubeConfig } from '@kubernetes/client-node';
import type { Server } from 'node:http';
import { parseOperatorConfig, snapshotExportSettings } from './config.js';
import { Controller } from './controller/controller.js';
import { systemClock } from './controller/ports.js';
import { WorkQueue } from './controller/queue.js';
import { Reconciler } from './controller/reconcile.js';
import { SnapshotReconciler } from './controller/snapshot.js';
import { KafkaLagReader } from './kafka/lag-reader.js';
import { SubjectAccessReviewAuthorizer } from './kube/authorizer.js';
import { KubeApiClient } from './kube/client.js';
import { startInformers, startSnapshotInformers, type SnapshotInformers } from './kube/informers.js';
import { LeaderElector } from './kube/leader.js';
import { KubeLeaseStore } from './kube/lease-store.js';
import { startExternalMetricsServer } from './metrics/server.js';
import { OperatorMetrics, startHealthServer } from './observability.js';

async function main(): Promise<void> {
  // The environment, parsed once, before any client exists: a bad setting stops here, named.
  const cfg = parseOperatorConfig(process.env);
  const log = createLogger('ingest-operator', { level: cfg.logLevel });
  const kc = new KubeConfig();
  kc.loadFromDefault();

  const metrics = new OperatorMetrics();
  const kube = new KubeApiClient(kc);
  const lag = new KafkaLagReader({ clientId: cfg.kafkaClientId, log, security: cfg });
  const queue = new WorkQueue();
  const reconciler = new Reconciler({
    kube,
    lag,
    clock: systemClock,
    log,
    observer: metrics,
    policy: { allowedImagePrefixes: cfg.allowedImagePrefixes, allowedSecretNames: cfg.allowedSecretNames },
  });
  const controller = new Controller(queue, reconciler, log, cfg.workers);

  const informers = await startInformers(kc, cfg.watchNamespace, (key) => queue.add(key), log);
  // Snapshots: a queue and workers of their own, so that an export never waits behind scaling.
  const snapshotQueue = new WorkQueue();
  const snapshotController = new Controller(snapshotQueue, new SnapshotReconciler(kube, snapshotExportSettings(cfg), systemClock, log), log, 1);
  let snapshots: SnapshotInformers | undefined;
  if (cfg.snapshots) snapshots = await startSnapshotInformers(kc, cfg.watchNamespace, (key) => snapshotQueue.add(key), log);
  const synced = () => informers.synced() && (snapshots?.synced() ?? true);
  const servers: Server[] = [await startHealthServer(cfg.healthHost, cfg.healthPort, metrics, synced)];
  if (cfg.tlsCertFile !== undefined && cfg.tlsKeyFile !== undefined) {
    servers.push(
      await startExternalMetricsServer(
        {
          host: cfg.externalMetricsHost,
          port: cfg.externalMetricsPort,
          certFile: cfg.tlsCertFile,
          keyFile: cfg.tlsKeyFile,
          ...(cfg.clientCaFile === undefined ? {} : { clientCaFile: cfg.clientCaFile }),
          allowedNames: cfg.requestheaderAllowedNames,
          ...(cfg.metricsAuthorization ? { authorizer: new SubjectAccessReviewAuthorizer(kc) } : {}),
        },
        informers.pipelines,
        log,
      ),
    );
  } else log.warn('TLS_CERT_FILE not set: the external metrics API is not served');

  const lead = () => {
    metrics.leader.set(1);
    for (const key of informers.pipelines.keys()) queue.add(key);
    controller.start();
    if (snapshots) {
      for (const key of snapshots.keys()) snapshotQueue.add(key);
      snapshotController.start();
    }
  };
  let elector: LeaderElector | undefined;
  if (cfg.leaderElection) {
    elector = new LeaderElector(
      new KubeLeaseStore(kc, cfg.podNamespace, cfg.leaseName),
      {
        identity: cfg.podName,
        leaseDurationMs: cfg.leaseDurationSeconds * 1000,
        renewDeadlineMs: cfg.renewDeadlineSeconds * 1000,
        retryPeriodMs: cfg.retryPeriodSeconds * 1000,
      },
      systemClock,
      log,
    );
    elector.run({
      onStartedLeading: lead,
      // A replica that lost the lease may have work in flight: exit and start clean.
      onStoppedLeading: () => {
        metrics.leader.set(0);
        process.exit(1);
      },
      onNewLeader: (id) => log.info({ leader: id }, 'leader'),
    });
  } else lead();
  log.info({ namespace: cfg.watchNamespace || '*', holder: cfg.podName, leaderElection: cfg.leaderElection }, 'operator started');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const bound = setTimeout(() => {
      log.error('shutdown timed out');
      process.exit(1);
    }, cfg.shutdownTimeoutMs);
    bound.unref();
    void (async () => {
      await Promise.all([controller.stop(), snapshotController.stop()]);
      log.debug('shutdown: workers stopped');
      await elector?.stop();
      await Promise.all([informers.stop(), snapshots?.stop()]);
      log.debug('shutdown: informers stopped');
      // Kept-alive connections (the aggregator's, probes') would hold close() until they time out.
      await Promise.all(
        servers.map(
          (s) =>
            new Promise((r) => {
              s.close(() => r(undefined));
              s.closeIdleConnections();
              setTimeout(() => s.closeAllConnections(), 1000).unref();
            }),
        ),
      );
      log.debug('shutdown: servers closed');
      await lag.close();
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  createLogger('ingest-operator').fatal({ err }, 'operator failed to start');
  process.exit(1);
});
