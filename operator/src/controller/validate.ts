import type { IngestPipelineSpec } from '../api/types.js';

/**
 * Checks the schema cannot express or that objects stored before a rule existed may break:
 * each problem names the field. An empty list means valid.
 */
export interface SpecPolicy {
  /**
   * Image name prefixes a consumer may run (e.g. `clinical-ingest/`). Whoever can edit an
   * IngestPipeline chooses the image its pods run with the Secrets it names; the operator runs
   * only the project's consumer images. Empty: any image.
   */
  readonly allowedImagePrefixes?: readonly string[];
  /**
   * Secrets a consumer may be given (`spec.consumer.secrets`): the ones made for the consumers.
   * With the image narrowed, this keeps an editor from handing the consumers another component's
   * Secret (the history role's password, say). Empty: any Secret of the namespace.
   */
  readonly allowedSecretNames?: readonly string[];
}

export function validateSpec(spec: IngestPipelineSpec | undefined, policy: SpecPolicy = {}): string[] {
  const errs: string[] = [];
  if (spec === undefined) return ['spec is missing'];
  const need = (v: unknown, path: string) => {
    if (v === undefined || v === null || v === '') errs.push(`${path} is required`);
  };
  need(spec.kafka?.bootstrapServers, 'spec.kafka.bootstrapServers');
  need(spec.kafka?.topic, 'spec.kafka.topic');
  need(spec.kafka?.consumerGroup, 'spec.kafka.consumerGroup');
  need(spec.consumer?.image, 'spec.consumer.image');
  const prefixes = policy.allowedImagePrefixes ?? [];
  const image = spec.consumer?.image;
  if (image && prefixes.length > 0 && !prefixes.some((p) => image.startsWith(p))) {
    errs.push(`spec.consumer.image is not allowed here: the operator runs images starting with ${prefixes.join(' or ')} (ALLOWED_IMAGE_PREFIXES)`);
  }
  const allowedSecrets = policy.allowedSecretNames ?? [];
  if (allowedSecrets.length > 0) {
    for (const [field, ref] of Object.entries(spec.consumer?.secrets ?? {}) as [string, { name?: string } | undefined][]) {
      if (ref?.name !== undefined && !allowedSecrets.includes(ref.name)) {
        errs.push(`spec.consumer.secrets.${field} names a Secret the consumers may not be given here (ALLOWED_SECRET_NAMES)`);
      }
    }
  }
  need(spec.consumer?.secrets?.identityHmacSecret?.name, 'spec.consumer.secrets.identityHmacSecret.name');
  need(spec.consumer?.secrets?.databaseUrl?.name, 'spec.consumer.secrets.databaseUrl.name');
  const s = spec.scaling;
  if (s === undefined) errs.push('spec.scaling is required');
  else {
    const min = s.minReplicas ?? 1;
    if (!Number.isInteger(s.maxReplicas) || s.maxReplicas < 1) errs.push('spec.scaling.maxReplicas must be an integer ≥ 1');
    if (!Number.isInteger(min) || min < 0) errs.push('spec.scaling.minReplicas must be an integer ≥ 0');
    if (min > s.maxReplicas) errs.push('spec.scaling.minReplicas must not exceed maxReplicas');
    if (min === 0 && s.policy?.scaleToZero !== true) errs.push('spec.scaling.minReplicas 0 needs policy.scaleToZero');
    const u = s.policy?.targetUtilization;
    if (u !== undefined && !(u > 0 && u <= 1)) errs.push('spec.scaling.policy.targetUtilization must be in (0, 1]');
    if (s.freshnessTargetSeconds !== undefined && !(s.freshnessTargetSeconds >= 1)) errs.push('spec.scaling.freshnessTargetSeconds must be ≥ 1');
  }
  return errs;
}
