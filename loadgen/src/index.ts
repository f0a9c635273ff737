export {
  generateRecords,
  INVALID_KINDS,
  MAX_PAYLOAD_BYTES,
  RecordGenerator,
  varyName,
  type Expectation,
  type GeneratedRecord,
  type GeneratorOptions,
  type InvalidKind,
  type RecordKind,
} from './generator.js';
export {
  createKafka,
  DEFAULT_BATCH_SIZE,
  DEFAULT_IN_FLIGHT,
  formatProgress,
  formatSummary,
  produceRecords,
  PRODUCER_CONFIG,
  type KafkaLike,
  type ProduceOptions,
  type ProduceSummary,
  type ProducibleRecord,
  type ProgressStream,
} from './producer.js';
export { parseCommand, parseProduceArgs, UsageError, type ProduceArgs, type ProduceCommand } from './args.js';
export { CRITERIA, formatReport, runValidation, type ValidationDeps, type ValidationOptions, type ValidationReport } from './validate/run.js';
export { checkMasterAgainstOracle, checkPublicAgainstMaster, countKnownIdentities, type OracleResult } from './validate/checks.js';
export { addBuckets, parseHistogram, quantile, subtractBuckets, total, type Buckets } from './validate/histogram.js';
export { cpuDelta, sampleCpu, sampleProcesses, type CpuSample } from './machine.js';
