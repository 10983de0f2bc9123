/**
 * SEAL's negacyclic NTT tables for one prime, rebuilt in JavaScript for the
 * rotation-sum kernel (rotation-sum.wat). SEAL's NTT evaluates at the powers
 * of the *minimal* primitive 2n-th root of unity (try_minimal_primitive_root)
 * in bit-reversed order; the same root and order give the same map, so the
 * kernel's NTT-form values are SEAL's.
 */
export interface PrimeTables {
  readonly prime: bigint;
  /** roots[bitrev(i)] = ψ^i, roots[0] = 1 (SEAL's root_powers_). */
  readonly roots: BigUint64Array;
  /** floor(w · 2^64 / prime) for each root (Shoup's precomputed quotient). */
  readonly rootQuotients: BigUint64Array;
  /** The inverse of each root, at the same index, and their quotients. */
  readonly inverseRoots: BigUint64Array;
  readonly inverseQuotients: BigUint64Array;
  /** n^-1 mod prime and its quotient: the inverse NTT's final scaling. */
  readonly ninv: bigint;
  readonly ninvs: bigint;
  /** inverseRoots[1] · n^-1 mod prime and its quotient: the inverse NTT's last stage, scaled. */
  readonly lastScaled: bigint;
  readonly lastScaledQuotient: bigint;
}

export function nttTables(prime: bigint, n: number): PrimeTables {
  const logN = Math.log2(n);
  if (!Number.isInteger(logN)) throw new RangeError(`n must be a power of two, got ${n}`);
  if ((prime - 1n) % BigInt(2 * n) !== 0n) throw new RangeError(`prime ${prime} is not 1 mod ${2 * n}`);
  const psi = minimalPrimitiveRoot(prime, n);
  const psiInv = modPow(psi, prime - 2n, prime);
  const roots = new BigUint64Array(n);
  const inverseRoots = new BigUint64Array(n);
  roots[0] = 1n;
  inverseRoots[0] = 1n;
  let power = 1n;
  let inverse = 1n;
  for (let i = 1; i < n; i++) {
    power = (power * psi) % prime;
    inverse = (inverse * psiInv) % prime;
    const at = reverseBits(i, logN);
    roots[at] = power;
    inverseRoots[at] = inverse;
  }
  const quotient = (w: bigint) => (w << 64n) / prime;
  const ninv = modPow(BigInt(n), prime - 2n, prime);
  const lastScaled = (inverseRoots[1] * ninv) % prime;
  return {
    prime,
    roots,
    rootQuotients: roots.map(quotient),
    inverseRoots,
    inverseQuotients: inverseRoots.map(quotient),
    ninv,
    ninvs: quotient(ninv),
    lastScaled,
    lastScaledQuotient: quotient(lastScaled),
  };
}

/**
 * The smallest primitive 2n-th root of unity mod prime: from any one (a
 * (prime-1)/2n-th power with ψ^n = -1), the least of its odd powers, which
 * are all the primitive ones.
 */
export function minimalPrimitiveRoot(prime: bigint, n: number): bigint {
  const order = BigInt(2 * n);
  for (let g = 2n; g < prime; g++) {
    const root = modPow(g, (prime - 1n) / order, prime);
    if (modPow(root, BigInt(n), prime) !== prime - 1n) continue;
    const square = (root * root) % prime;
    let smallest = root;
    let current = root;
    for (let i = 1; i < n; i++) {
      current = (current * square) % prime;
      if (current < smallest) smallest = current;
    }
    return smallest;
  }
  throw new RangeError(`no primitive ${order}-th root of unity mod ${prime}`);
}

export function modPow(base: bigint, exponent: bigint, m: bigint): bigint {
  let result = 1n;
  let b = base % m;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return result;
}

/** x's lowest `bits` bits in reverse order. */
export function reverseBits(x: number, bits: number): number {
  let r = 0;
  for (let i = 0; i < bits; i++) r |= ((x >>> i) & 1) << (bits - 1 - i);
  return r >>> 0;
}

export function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [m, ((a % m) + m) % m];
  let [t0, t1] = [0n, 1n];
  while (r1 !== 0n) {
    const quotient = r0 / r1;
    [r0, r1] = [r1, r0 - quotient * r1];
    [t0, t1] = [t1, t0 - quotient * t1];
  }
  if (r0 !== 1n) throw new RangeError('not invertible');
  return ((t0 % m) + m) % m;
}
