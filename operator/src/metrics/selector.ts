/**
 * Kubernetes label selectors in their string form (`a=b,c!=d,e in (x,y),f notin (z),g,!h`), as
 * the HPA sends them in `labelSelector`.
 */
export type Requirement =
  | { readonly op: 'eq' | 'neq'; readonly key: string; readonly value: string }
  | { readonly op: 'in' | 'notin'; readonly key: string; readonly values: readonly string[] }
  | { readonly op: 'exists' | 'notexists'; readonly key: string };

export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

const KEY = '[A-Za-z0-9][-A-Za-z0-9_./]*';
const VALUE = '[-A-Za-z0-9_.]*';

/** Splits on commas that are not inside parentheses. */
function split(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x.length > 0);
}

export function parseSelector(s: string | undefined | null): Requirement[] {
  if (s === undefined || s === null || s.trim() === '') return [];
  return split(s).map((part) => {
    let m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`).exec(part);
    if (m) return { op: m[2] === '!=' ? 'neq' : 'eq', key: m[1]!, value: m[3]! };
    m = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`).exec(part);
    if (m) {
      const values = m[3]!
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v.length > 0);
      if (!values.every((v) => new RegExp(`^${VALUE}$`).test(v))) throw new SelectorError(`invalid value in "${part}"`);
      return { op: m[2] as 'in' | 'notin', key: m[1]!, values };
    }
    m = new RegExp(`^(!?)\\s*(${KEY})$`).exec(part);
    if (m) return { op: m[1] === '!' ? 'notexists' : 'exists', key: m[2]! };
    throw new SelectorError(`invalid label selector requirement "${part}"`);
  });
}

export function matches(reqs: readonly Requirement[], labels: Readonly<Record<string, string>>): boolean {
  return reqs.every((r) => {
    const v = labels[r.key];
    switch (r.op) {
      case 'eq':
        return v === r.value;
      case 'neq':
        return v !== r.value;
      case 'in':
        return v !== undefined && r.values.includes(v);
      case 'notin':
        return v === undefined || !r.values.includes(v);
      case 'exists':
        return v !== undefined;
      case 'notexists':
        return v === undefined;
    }
  });
}
