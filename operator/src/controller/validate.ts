import { ingestPipelineSpecSchema } from '../api/schema.js';
import type { IngestPipelineSpec } from '../api/types.js';

/**
 * Whether the operator acts on a spec: the API's rules (the one definition, schema.ts) and the
 * installation's policy; each problem names the field. An empty list means valid.
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
  if (spec === undefined) return ['spec is missing'];
  // The API's own rules (schema.ts: the CRD states the same ones to the apiserver), for objects
  // stored before a rule existed or written around the apiserver's validation.
  const parsed = ingestPipelineSpecSchema.safeParse(spec);
  const errs = parsed.success ? [] : parsed.error.issues.map((i) => `spec.${i.path.map(String).join('.')}: ${i.message}`);
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
  return errs;
}
