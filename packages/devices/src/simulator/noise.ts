// Seeded, stateless noise: every value is a pure function of (seed, channel, position), so the
// simulator can jump to any timestamp without replaying a random stream.

/** 32-bit integer hash (a murmur3-style finaliser) mapped to [0, 1). */
export function hash01(seed: number, channel: number, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(channel + 0x632be5ab, 0xc2b2ae35);
  h ^= Math.imul(index | 0, 0x27d4eb2f) ^ Math.imul(Math.floor(index / 4294967296), 0x165667b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Smooth 1-D value noise in [0, 1): lattice points every `period` units, smoothstep between. */
export function valueNoise(seed: number, channel: number, x: number, period: number): number {
  const p = x / period;
  const i = Math.floor(p);
  const f = p - i;
  const s = f * f * (3 - 2 * f);
  const a = hash01(seed, channel, i);
  const b = hash01(seed, channel, i + 1);
  return a + (b - a) * s;
}

/** Turns a text seed into the 32-bit number the hashes use. */
export function seedNumber(seed: string | number): number {
  if (typeof seed === 'number') return seed | 0;
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
  return h | 0;
}
