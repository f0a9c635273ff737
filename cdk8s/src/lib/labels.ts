/** Recommended labels (app.kubernetes.io/*) of the platform's own workloads. */
export const PART_OF = 'clinical-ingest';

export function appLabels(name: string, component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': component, 'app.kubernetes.io/part-of': PART_OF };
}

/** The subset that selects a workload's pods (stable across releases). */
export function selector(name: string): Record<string, string> {
  return { 'app.kubernetes.io/name': name };
}
