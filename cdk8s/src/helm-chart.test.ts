/**
 * charts/ingest-operator cannot drift from what cdk8s synthesizes: its files are generated from the
 * cdk8s output (this test regenerates them and compares), and its templates rendered with the
 * default values give exactly the cdk8s operator objects. The renderer here knows only the
 * template forms the generator writes and fails on any other; `make helm-check` renders with helm
 * itself (and runs helm lint), and so does the last test when helm is installed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify, parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CHART_DIR, chartFiles, compareObjects, operatorObjects, parseObjects } from './helm-chart.js';
import { REPO_ROOT } from './paths.js';

/** Renders the generated template forms with a values object. */
function miniRender(text: string, values: Record<string, unknown>, namespace: string): string {
  const get = (path: string): unknown => path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)?.[k], values);
  let out = text.replace(/\{\{- if \.Values\.([\w.]+) \}\}\n([\s\S]*?)\{\{- end \}\}\n/g, (_m, path: string, body: string) => (get(path) === true ? body : ''));
  out = out.replace(/\{\{- toYaml \.Values\.([\w.]+) \| nindent (\d+) \}\}/g, (_m, path: string, n: string) =>
    stringify(get(path))
      .trimEnd()
      .split('\n')
      .map((l) => `${' '.repeat(Number(n))}${l}`)
      .join('\n')
      .replace(/^\n?/, ''),
  );
  out = out.replace(/\n( *)resources:\n( +)/g, '\n$1resources:\n$2');
  out = out.replace(/\{\{ \.Values\.([\w.]+) \| quote \}\}/g, (_m, path: string) => JSON.stringify(String(get(path))));
  out = out.replace(/\{\{ \.Values\.([\w.]+) \}\}/g, (_m, path: string) => String(get(path)));
  out = out.replace(/\{\{ \.Release\.Namespace \}\}/g, namespace);
  if (out.includes('{{')) throw new Error(`template form the test renderer does not know: ${out.slice(out.indexOf('{{'), out.indexOf('{{') + 80)}`);
  return out;
}

function renderChart(values: Record<string, unknown>, namespace: string): string {
  const files = chartFiles();
  const templates = [...files.keys()].filter((p) => p.startsWith('templates/')).map((p) => miniRender(files.get(p)!, values, namespace));
  const crds = [...files.keys()].filter((p) => p.startsWith('crds/')).map((p) => files.get(p)!);
  return [...crds, ...templates].join('\n---\n');
}

describe('charts/ingest-operator', () => {
  it('is what `make chart` generates from the current cdk8s output (run make chart if not)', () => {
    const stale = [...chartFiles()]
      .filter(([path, text]) => !existsSync(join(CHART_DIR, path)) || readFileSync(join(CHART_DIR, path), 'utf8') !== text)
      .map(([p]) => p);
    expect(stale).toEqual([]);
  });

  it('renders, with its default values, exactly the objects cdk8s synthesizes for the operator', () => {
    const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const { objects, namespace } = operatorObjects();
    expect(compareObjects(parseObjects(renderChart(values, namespace)), objects)).toEqual([]);
  });

  it('renders its values where they belong (another namespace, image, no metrics API)', () => {
    const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const objs = parseObjects(
      renderChart({ ...values, image: { repository: 'registry.example/op', tag: '1.2.3' }, externalMetricsApi: { enabled: false } }, 'elsewhere'),
    );
    expect(objs.some((o) => o.kind === 'APIService')).toBe(false);
    const d = objs.find((o) => o.kind === 'Deployment') as unknown as {
      metadata: { namespace: string };
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    expect(d.metadata.namespace).toBe('elsewhere');
    expect(d.spec.template.spec.containers[0]!.image).toBe('registry.example/op:1.2.3');
  });

  it('refuses a drifted chart: a changed object is reported', () => {
    const { objects } = operatorObjects();
    const changed = structuredClone(objects);
    (changed.find((o) => o.kind === 'ClusterRole') as unknown as { rules: { verbs: string[] }[] }).rules[0]!.verbs.push('delete');
    expect(compareObjects(changed, objects)).toEqual(['differs: ClusterRole//ingest-operator']);
    expect(compareObjects(objects.slice(1), objects)).toHaveLength(1);
  });

  /** The Kubernetes version helm renders for (kind's current node image). */
  const KUBE_VERSION = '1.34.0';
  const helm = [join(REPO_ROOT, '.local', 'bin', 'helm')].find((p) => existsSync(p));
  it.runIf(helm !== undefined)('passes helm lint, and helm template renders the cdk8s objects (helm in .local/bin: make helm)', () => {
    execFileSync(helm!, ['lint', '--strict', '--kube-version', KUBE_VERSION, CHART_DIR], { stdio: 'pipe' });
    const rendered = execFileSync(
      helm!,
      ['template', 'ingest-operator', CHART_DIR, '--namespace', 'clinical-ingest', '--include-crds', '--kube-version', KUBE_VERSION],
      { encoding: 'utf8' },
    );
    expect(compareObjects(parseObjects(rendered), operatorObjects().objects)).toEqual([]);
  });
});
