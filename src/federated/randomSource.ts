/**
 * A source of uniform floats in [0, 1). Noise and stochastic rounding take one as a parameter so
 * tests and the Node simulation can pass a seeded generator (e.g. `() => new Random(1).next()`),
 * while the browser uses {@link secureUniform}.
 */
export type UniformSource = () => number;

/**
 * Uniform floats from `crypto.getRandomValues` (Web Crypto, also global in Node ≥ 19): the noise
 * that protects an update must not be predictable from a seed an observer could guess.
 * Draws 53-bit floats from a buffer refilled 1,024 values at a time.
 */
export function secureUniform(): UniformSource {
  const buf = new Uint32Array(2048);
  let i = buf.length;
  return () => {
    if (i >= buf.length) {
      crypto.getRandomValues(buf);
      i = 0;
    }
    const hi = buf[i++]! >>> 5; // 27 bits
    const lo = buf[i++]! >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  };
}

/** A fresh 128-bit random value as 32 lowercase hex digits (the update's replay nonce). */
export function randomNonce(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
