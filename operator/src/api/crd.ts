import { ingestPipelineSpecSchema, ingestPipelineStatusSchema, openApiSchema } from './schema.js';
import { CRD_NAME, GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION } from './types.js';

/** An OpenAPI v3 schema node as the apiserver reads it (JSON field names, not client-node's). */
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  items?: JSONSchemaProps;
  additionalProperties?: JSONSchemaProps | boolean;
  default?: unknown;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  anyOf?: JSONSchemaProps[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string; messageExpression?: string; reason?: string; fieldPath?: string }[];
}

/** `apiextensions.k8s.io/v1` CustomResourceDefinition, as plain JSON. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    scope: 'Namespaced' | 'Cluster';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JSONSchemaProps };
      subresources?: { status?: Record<string, never>; scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string } };
      additionalPrinterColumns?: { name: string; type: string; jsonPath: string; description?: string; priority?: number; format?: string }[];
    }[];
  };
}

const obj = (description: string, properties: Record<string, JSONSchemaProps>, required: string[] = []): JSONSchemaProps => ({
  type: 'object',
  description,
  properties,
  ...(required.length > 0 ? { required } : {}),
});

/** The spec's and the status's schemas, converted from the one definition (schema.ts). */
const specSchema = (): JSONSchemaProps => openApiSchema(ingestPipelineSpecSchema);
const statusSchema = (): JSONSchemaProps => openApiSchema(ingestPipelineStatusSchema);

/** The labels of the operator's CustomResourceDefinitions. */
export const CRD_LABELS = Object.freeze({ 'app.kubernetes.io/name': 'ingest-operator', 'app.kubernetes.io/part-of': 'clinical-ingest' });

/**
 * The full CustomResourceDefinition of `IngestPipeline`: a structural schema with defaults and
 * validation (CEL rules need Kubernetes ≥ 1.25, GA in 1.29), printer columns and the `/status`
 * subresource. No `/scale` subresource on purpose: the HPA the pipeline owns writes the consumer
 * Deployment's replica count, and a scalable pipeline would be a second writer.
 */
export function ingestPipelineCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME, labels: { ...CRD_LABELS } },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: SINGULAR, shortNames: [...SHORT_NAMES], categories: ['clinical-ingest'] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: obj(
              'IngestPipeline: a consumer Deployment and its HPA, scaled to Kafka partition lag.',
              {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: specSchema(),
                status: statusSchema(),
              },
              ['spec'],
            ),
          },
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Lag', type: 'integer', jsonPath: '.status.lag', description: 'Total lag in records.' },
            { name: 'Lag-s', type: 'integer', jsonPath: '.status.lagSeconds', description: 'Estimated seconds to drain the lag.' },
            { name: 'Replicas', type: 'integer', jsonPath: '.status.replicas', description: 'Consumer replicas.' },
            { name: 'Desired', type: 'integer', jsonPath: '.status.desiredReplicas', description: "The policy's decision." },
            { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready consumer replicas.' },
            { name: 'Healthy', type: 'string', jsonPath: ".status.conditions[?(@.type=='Ready')].status", description: 'Ready condition.', priority: 1 },
            { name: 'Partitions', type: 'integer', jsonPath: '.status.partitions', priority: 1 },
            { name: 'Reason', type: 'string', jsonPath: '.status.lastScaleReason', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}
