/**
 * Who talks to whom (docs/architecture.md §2, §5, §6), as data: every flow the platform needs, and no
 * other. The NetworkPolicies are generated from this table, and the tests read it back.
 */
import type { KafkaChart, LoadTestChart, OperatorChart, PipelineChart, PostgresChart, PublicStoreChart, RedisChart } from './charts.js';
import { entityOperatorPodLabels, kafkaPodLabels } from './lib/kafka.js';
import { externalPods, KUBE_APISERVER_PORTS, kubeApiServer, NODE_NETWORK, pods, type Endpoint, type Flow } from './lib/network.js';
import type { PlatformSettings } from './settings.js';

export interface TopologyCharts {
  readonly kafka: KafkaChart;
  readonly postgres: PostgresChart;
  readonly redis: RedisChart;
  readonly publicStore: PublicStoreChart | undefined;
  readonly operator: OperatorChart;
  readonly pipeline: PipelineChart;
  readonly loadTest: LoadTestChart;
}

/** Endpoints, by the labels their pods carry (ours set them; the operators' are documented). */
export function endpoints(s: PlatformSettings, c: TopologyCharts) {
  const kafka = c.kafka.cluster.name;
  const pg = c.postgres.postgres.name;
  return {
    consumer: pods('intake-consumer', { 'app.kubernetes.io/name': 'intake-consumer' }),
    operator: pods('ingest-operator', c.operator.operator.podLabels),
    loadtest: pods('intake-loadtest', c.loadTest.job.podLabels),
    redis: pods('redis', c.redis.redis.podLabels),
    publicStore: c.publicStore ? pods('public-store', c.publicStore.store.podLabels) : undefined,
    kafka: pods('kafka', kafkaPodLabels(kafka)),
    entityOperator: pods('kafka-entity-operator', entityOperatorPodLabels(kafka)),
    postgres: pods('postgres', { 'cnpg.io/cluster': pg, 'cnpg.io/podRole': 'instance' }),
    pooler: pods('pgbouncer', { 'cnpg.io/poolerName': c.postgres.postgres.poolerService }),
    spark: pods('snapshot-export', { 'app.kubernetes.io/name': 'snapshot-export' }),
    strimziOperator: externalPods('strimzi-cluster-operator', s.operatorNamespaces.strimzi, { name: 'strimzi-cluster-operator' }),
    cnpgOperator: externalPods('cnpg-operator', s.operatorNamespaces.cnpg, { 'app.kubernetes.io/name': 'cloudnative-pg' }),
  };
}

export function platformFlows(s: PlatformSettings, c: TopologyCharts): Flow[] {
  const e = endpoints(s, c);
  const KUBE_APISERVER = kubeApiServer(s.apiServerCidrs);
  const kafkaTls = [{ port: c.kafka.cluster.tlsPort }];
  const pgPort = [{ port: 5432 }];
  const flows: Flow[] = [];
  const add = (from: Endpoint, to: Endpoint, ports: Flow['ports'], why: string) => flows.push({ from, to, ports, why });

  // The data path.
  add(e.consumer, e.kafka, kafkaTls, 'consume the intake topic, write the DLQ');
  add(e.consumer, e.pooler, pgPort, 'master store (one transaction per batch)');
  add(e.consumer, e.redis, [{ port: c.redis.redis.port }], 'identity cache');
  const publicStorePort = c.publicStore?.store.port;
  if (e.publicStore && publicStorePort) add(e.consumer, e.publicStore, [{ port: publicStorePort }], 'public store writes');
  // The load test (produce, then check both stores and the consumers' freshness metrics).
  add(e.loadtest, e.kafka, kafkaTls, 'produce records');
  add(e.loadtest, e.postgres, pgPort, 'read the master store (read-only role)');
  if (e.publicStore && publicStorePort) add(e.loadtest, e.publicStore, [{ port: publicStorePort }], 'read the public store');
  add(e.loadtest, e.consumer, [{ port: c.pipeline.pipeline.metricsPort }], 'freshness metrics');
  // Our operator: lag from Kafka, children through the API server, External metrics to the HPA.
  add(e.operator, e.kafka, kafkaTls, 'read log-end and committed offsets');
  add(e.operator, KUBE_APISERVER, KUBE_APISERVER_PORTS, 'reconcile IngestPipelines');
  add(KUBE_APISERVER, e.operator, [{ port: c.operator.operator.metricsApiPort }], 'External metrics API (aggregated)');
  // Kafka itself: KRaft quorum and replication between nodes; the entity operator; Strimzi.
  add(e.kafka, e.kafka, [{ port: 9090 }, { port: 9091 }], 'KRaft controllers and replication');
  add(e.entityOperator, e.kafka, [{ port: 9091 }], 'topic and user operators');
  add(e.entityOperator, KUBE_APISERVER, KUBE_APISERVER_PORTS, 'watch KafkaTopics and KafkaUsers');
  add(e.strimziOperator, e.kafka, [{ port: 9090 }, { port: 9091 }, { port: 8443 }], 'Strimzi cluster operator manages the nodes');
  // PostgreSQL: the pooler, replication, the instance manager and the CloudNativePG operator.
  add(e.pooler, e.postgres, pgPort, 'PgBouncer to the primary');
  add(e.pooler, KUBE_APISERVER, KUBE_APISERVER_PORTS, 'pooler instance manager');
  add(e.postgres, e.postgres, pgPort, 'streaming replication');
  add(e.postgres, KUBE_APISERVER, KUBE_APISERVER_PORTS, 'instance manager');
  add(e.cnpgOperator, e.postgres, [{ port: 8000 }, { port: 5432 }], 'CloudNativePG operator: status and management');
  // The snapshot export: driver and executors, reading the master store.
  add(e.spark, e.spark, [{ port: 7078 }, { port: 7079 }, { port: 7077 }, { port: 4040 }], 'driver and executors');
  add(e.spark, e.postgres, pgPort, 'read the master store (read-only role)');
  add(e.spark, KUBE_APISERVER, KUBE_APISERVER_PORTS, 'the driver starts its executors');
  // The public store from the host (kind-config.yaml maps the NodePort to 127.0.0.1).
  if (e.publicStore && publicStorePort && s.publicStore.nodePort > 0) add(NODE_NETWORK, e.publicStore, [{ port: publicStorePort }], 'NodePort from the host');
  return flows;
}
