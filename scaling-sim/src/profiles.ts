/** Arrival profiles of the simulation: total records/s over time, and optional stuck partitions. */
export interface Profile {
  readonly name: string;
  readonly description: string;
  readonly durationSeconds: number;
  /** Total arrivals in records/s at second t (t from 0). */
  readonly rate: (t: number) => number;
  /** A partition whose consumer makes no progress during [from, to) (poison record). */
  readonly stuck?: { readonly partition: number; readonly from: number; readonly to: number };
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const lerp = (a: number, b: number, f: number) => a + (b - a) * clamp(f, 0, 1);

/** The five profiles, for a group whose full capacity is `capacity` records/s (P × per-replica rate). */
export function profiles(capacity: number): Profile[] {
  const c = capacity;
  return [
    { name: 'steady', description: `constant ${Math.round(0.35 * c)} rec/s (35 % of full capacity)`, durationSeconds: 2400, rate: () => 0.35 * c },
    {
      name: 'burst',
      description: 'base 25 %; 80 % for 120 s at t=600; 130 % (beyond capacity) for 20 s at t=1500',
      durationSeconds: 2400,
      rate: (t) => (t >= 600 && t < 720 ? 0.8 * c : t >= 1500 && t < 1520 ? 1.3 * c : 0.25 * c),
    },
    {
      name: 'ramp',
      description: 'from 5 % to 85 % over 30 min, hold 10 min, back to 5 % over 10 min',
      durationSeconds: 3300,
      rate: (t) => (t < 1800 ? lerp(0.05 * c, 0.85 * c, t / 1800) : t < 2400 ? 0.85 * c : lerp(0.85 * c, 0.05 * c, (t - 2400) / 600)),
    },
    {
      name: 'diurnal',
      description: 'sinusoid between 5 % and 75 %, period 30 min (two compressed days)',
      durationSeconds: 3600,
      rate: (t) => c * (0.4 - 0.35 * Math.cos((2 * Math.PI * t) / 1800)),
    },
    {
      name: 'stuck',
      description: 'constant 35 %; partition 5 makes no progress from t=300 to t=1500 (poison record), then drains',
      durationSeconds: 2700,
      rate: () => 0.35 * c,
      stuck: { partition: 5, from: 300, to: 1500 },
    },
  ];
}
