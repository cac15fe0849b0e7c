/**
 * A small seeded random source (mulberry32), so that initialisation, shuffling and negative
 * sampling are reproducible from one `--seed` in Node and in the browser alike.
 */
export class Random {
  private _state: number;

  /** @param seed any 32-bit integer; the same seed gives the same stream. */
  constructor(seed: number) {
    this._state = seed >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    let t = (this._state = (this._state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal sample (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Shuffles `a` in place (Fisher–Yates) and returns it. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = a[i]!;
      a[i] = a[j]!;
      a[j] = tmp;
    }
    return a;
  }

  /** The generator's state, for checkpoints. */
  get state(): number {
    return this._state;
  }

  set state(s: number) {
    this._state = s >>> 0;
  }
}
