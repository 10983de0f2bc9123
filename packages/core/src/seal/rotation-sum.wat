;; Sum of rotations with one shared key switch, over SEAL's own memory (see
;; rotation-sum.ts).
;;
;; SEAL rotates one ciphertext at a time: each rotation is a key switch with
;; six NTTs (out of NTT form, into the special prime's, and a mod-down of
;; both output polynomials). A baby-step giant-step sum adds many rotated
;; ciphertexts, so here each term is only decomposed (two NTTs) and
;; multiplied with its Galois key into 128-bit accumulators over the data
;; prime q and the special prime p; the mod-down runs once for the whole sum.
;; With one term the result is the same integer mod q as SEAL's rotation, so
;; it is byte-identical (tested), and the JavaScript side checks that on
;; first use before trusting the kernel.
;;
;; The NTT is SEAL's map (same minimal primitive root, same bit-reversed
;; order): Harvey's butterflies with Shoup quotients, tables built by the
;; caller. Built into rotation-sum-wasm.ts by `node scripts/build-wasm.ts`
;; (wabt); a test checks that the two agree. No data segments and no
;; globals: this module imports SEAL's memory and writes only where the
;; caller points it (its own scratch plaintext and the output ciphertext).
(module
  (import "seal" "memory" (memory 1))

  ;; High 64 bits of the 128-bit product a*b.
  (func $mulhi (param $a i64) (param $b i64) (result i64)
    (local $a0 i64) (local $a1 i64) (local $b0 i64) (local $b1 i64) (local $ll i64) (local $lh i64) (local $hl i64) (local $mid i64)
    (local.set $a0 (i64.and (local.get $a) (i64.const 0xffffffff)))
    (local.set $a1 (i64.shr_u (local.get $a) (i64.const 32)))
    (local.set $b0 (i64.and (local.get $b) (i64.const 0xffffffff)))
    (local.set $b1 (i64.shr_u (local.get $b) (i64.const 32)))
    (local.set $ll (i64.mul (local.get $a0) (local.get $b0)))
    (local.set $lh (i64.mul (local.get $a0) (local.get $b1)))
    (local.set $hl (i64.mul (local.get $a1) (local.get $b0)))
    (local.set $mid (i64.add (i64.add (i64.shr_u (local.get $ll) (i64.const 32)) (i64.and (local.get $lh) (i64.const 0xffffffff))) (i64.and (local.get $hl) (i64.const 0xffffffff))))
    (i64.add (i64.add (i64.add (i64.mul (local.get $a1) (local.get $b1)) (i64.shr_u (local.get $lh) (i64.const 32))) (i64.shr_u (local.get $hl) (i64.const 32))) (i64.shr_u (local.get $mid) (i64.const 32))))

  ;; x*w mod p in [0, 2p) for any x < 2^64, with ws = floor(w * 2^64 / p) (Shoup).
  ;; (mulhi inlined: a call per butterfly costs a tenth of the NTT)
  (func $mulShoup (param $x i64) (param $w i64) (param $ws i64) (param $p i64) (result i64)
    (local $x0 i64) (local $x1 i64) (local $w0 i64) (local $w1 i64) (local $ll i64) (local $lh i64) (local $hl i64)
    (local.set $x0 (i64.and (local.get $x) (i64.const 0xffffffff)))
    (local.set $x1 (i64.shr_u (local.get $x) (i64.const 32)))
    (local.set $w0 (i64.and (local.get $ws) (i64.const 0xffffffff)))
    (local.set $w1 (i64.shr_u (local.get $ws) (i64.const 32)))
    (local.set $ll (i64.mul (local.get $x0) (local.get $w0)))
    (local.set $lh (i64.mul (local.get $x0) (local.get $w1)))
    (local.set $hl (i64.mul (local.get $x1) (local.get $w0)))
    (i64.sub (i64.mul (local.get $w) (local.get $x))
      (i64.mul
        (i64.add (i64.add (i64.add (i64.mul (local.get $x1) (local.get $w1)) (i64.shr_u (local.get $lh) (i64.const 32))) (i64.shr_u (local.get $hl) (i64.const 32)))
          (i64.shr_u (i64.add (i64.add (i64.shr_u (local.get $ll) (i64.const 32)) (i64.and (local.get $lh) (i64.const 0xffffffff))) (i64.and (local.get $hl) (i64.const 0xffffffff))) (i64.const 32)))
        (local.get $p))))

  ;; x - m if x >= m, else x.
  (func $csub (param $x i64) (param $m i64) (result i64)
    (select (i64.sub (local.get $x) (local.get $m)) (local.get $x) (i64.ge_u (local.get $x) (local.get $m))))

  ;; (hi:lo) mod q by Barrett with r = floor(2^128 / q) = (r1:r0), as SEAL's barrett_reduce_128.
  (func $reduce (param $hi i64) (param $lo i64) (param $q i64) (param $r1 i64) (param $r0 i64) (result i64)
    (local $carry i64) (local $t1 i64) (local $t3 i64) (local $p i64) (local $r i64)
    (local.set $carry (call $mulhi (local.get $lo) (local.get $r0)))
    (local.set $p (i64.mul (local.get $lo) (local.get $r1)))
    (local.set $t1 (i64.add (local.get $p) (local.get $carry)))
    (local.set $t3 (i64.add (call $mulhi (local.get $lo) (local.get $r1)) (i64.extend_i32_u (i64.lt_u (local.get $t1) (local.get $p)))))
    (local.set $p (i64.mul (local.get $hi) (local.get $r0)))
    (local.set $carry (i64.add (call $mulhi (local.get $hi) (local.get $r0)) (i64.extend_i32_u (i64.lt_u (i64.add (local.get $t1) (local.get $p)) (local.get $t1)))))
    (local.set $t1 (i64.add (i64.add (i64.mul (local.get $hi) (local.get $r1)) (local.get $t3)) (local.get $carry)))
    (local.set $r (i64.sub (local.get $lo) (i64.mul (local.get $t1) (local.get $q))))
    (call $csub (local.get $r) (local.get $q)))

  ;; #include shoup-lanes.wat

  ;; Forward negacyclic NTT in place, SEAL's order: a[0..n) with entries < 4p
  ;; (p < 2^62) becomes fully reduced. w/ws: root powers at index m+i in
  ;; bit-reversed order and their Shoup quotients (n u64 each). Every stage
  ;; but the last pairs entries t >= 2 apart, so two neighbours share a root
  ;; and go through one SIMD butterfly.
  (func (export "ntt") (param $a i32) (param $n i32) (param $p i64) (param $w i32) (param $ws i32)
    (local $m i32) (local $t i32) (local $i i32) (local $j i32) (local $end i32) (local $y i32)
    (local $W i64) (local $WS i64) (local $X i64) (local $T i64) (local $p2 i64)
    (local $Wv v128) (local $WSl v128) (local $WSh v128) (local $Pv v128) (local $P2v v128) (local $Xv v128) (local $Tv v128)
    (local.set $p2 (i64.shl (local.get $p) (i64.const 1)))
    (local.set $Pv (i64x2.splat (local.get $p)))
    (local.set $P2v (i64x2.splat (local.get $p2)))
    (local.set $m (i32.const 1))
    (local.set $t (i32.shr_u (local.get $n) (i32.const 1)))
    ;; Every stage but the last, lazily (entries stay below 4p).
    (block $stages (loop $stage
      (br_if $stages (i32.ge_u (local.get $m) (i32.shr_u (local.get $n) (i32.const 1))))
      (local.set $i (i32.const 0))
      (loop $group
        (local.set $WS (i64.load (i32.add (local.get $ws) (i32.shl (i32.add (local.get $m) (local.get $i)) (i32.const 3)))))
        (local.set $Wv (i64x2.splat (i64.load (i32.add (local.get $w) (i32.shl (i32.add (local.get $m) (local.get $i)) (i32.const 3))))))
        (local.set $WSl (call $wsLow (local.get $WS)))
        (local.set $WSh (call $wsHigh (local.get $WS)))
        (local.set $j (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $t)) (i32.const 4))))
        (local.set $end (i32.add (local.get $j) (i32.shl (local.get $t) (i32.const 3))))
        (loop $pair
          (local.set $y (i32.add (local.get $j) (i32.shl (local.get $t) (i32.const 3))))
          (local.set $Xv (call $csub2 (v128.load (local.get $j)) (local.get $P2v)))
          (local.set $Tv (call $mulShoup2 (v128.load (local.get $y)) (local.get $Wv) (local.get $WSl) (local.get $WSh) (local.get $Pv)))
          (v128.store (local.get $j) (i64x2.add (local.get $Xv) (local.get $Tv)))
          (v128.store (local.get $y) (i64x2.add (i64x2.sub (local.get $Xv) (local.get $Tv)) (local.get $P2v)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $pair (i32.lt_u (local.get $j) (local.get $end))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $group (i32.lt_u (local.get $i) (local.get $m))))
      (local.set $m (i32.shl (local.get $m) (i32.const 1)))
      (local.set $t (i32.shr_u (local.get $t) (i32.const 1)))
      (br $stage)))
    ;; The last stage (pairs of neighbours, root m + i) with the full reduction.
    (local.set $i (i32.const 0))
    (local.set $j (local.get $a))
    (loop $last
      (local.set $W (i64.load (i32.add (local.get $w) (i32.shl (i32.add (local.get $m) (local.get $i)) (i32.const 3)))))
      (local.set $WS (i64.load (i32.add (local.get $ws) (i32.shl (i32.add (local.get $m) (local.get $i)) (i32.const 3)))))
      (local.set $X (call $csub (i64.load (local.get $j)) (local.get $p2)))
      (local.set $T (call $mulShoup (i64.load offset=8 (local.get $j)) (local.get $W) (local.get $WS) (local.get $p)))
      (i64.store (local.get $j) (call $csub (call $csub (i64.add (local.get $X) (local.get $T)) (local.get $p2)) (local.get $p)))
      (i64.store offset=8 (local.get $j) (call $csub (call $csub (i64.add (i64.sub (local.get $X) (local.get $T)) (local.get $p2)) (local.get $p2)) (local.get $p)))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $last (i32.lt_u (local.get $i) (local.get $m)))))

  ;; Inverse of `ntt` in place: entries < 2p become fully reduced
  ;; coefficients. iw/iws: inverses of the same root powers (same indices)
  ;; and Shoup quotients; ninv/ninvs: n^-1 mod p and its quotient; wn/wns:
  ;; iw[1] * n^-1 mod p and its quotient (the last stage scales as it goes).
  ;; The first stage pairs neighbours (scalar); the others, entries t >= 2
  ;; apart, go two at a time through SIMD butterflies.
  (func (export "intt") (param $a i32) (param $n i32) (param $p i64) (param $iw i32) (param $iws i32) (param $ninv i64) (param $ninvs i64) (param $wn i64) (param $wns i64)
    (local $m i32) (local $t i32) (local $i i32) (local $j i32) (local $end i32) (local $y i32)
    (local $W i64) (local $WS i64) (local $U i64) (local $V i64) (local $p2 i64)
    (local $Wv v128) (local $WSl v128) (local $WSh v128) (local $Pv v128) (local $P2v v128) (local $Uv v128) (local $Vv v128)
    (local $Nv v128) (local $NSl v128) (local $NSh v128)
    (local.set $p2 (i64.shl (local.get $p) (i64.const 1)))
    (local.set $Pv (i64x2.splat (local.get $p)))
    (local.set $P2v (i64x2.splat (local.get $p2)))
    (local.set $m (i32.shr_u (local.get $n) (i32.const 1)))
    ;; The first stage: pairs of neighbours, root m + i.
    (local.set $i (i32.const 0))
    (local.set $j (local.get $a))
    (loop $first
      (local.set $W (i64.load (i32.add (local.get $iw) (i32.shl (i32.add (local.get $m) (local.get $i)) (i32.const 3)))))
      (local.set $WS (i64.load (i32.add (local.get $iws) (i32.shl (i32.add (local.get $m) (local.get $i)) (i32.const 3)))))
      (local.set $U (i64.load (local.get $j)))
      (local.set $V (i64.load offset=8 (local.get $j)))
      (i64.store (local.get $j) (call $csub (i64.add (local.get $U) (local.get $V)) (local.get $p2)))
      (i64.store offset=8 (local.get $j) (call $mulShoup (i64.add (i64.sub (local.get $U) (local.get $V)) (local.get $p2)) (local.get $W) (local.get $WS) (local.get $p)))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $first (i32.lt_u (local.get $i) (local.get $m))))
    (local.set $m (i32.shr_u (local.get $m) (i32.const 1)))
    (local.set $t (i32.const 2))
    (block $stages (loop $stage
      (br_if $stages (i32.le_u (local.get $m) (i32.const 1)))
      (local.set $i (i32.const 0))
      (loop $group
        (local.set $WS (i64.load (i32.add (local.get $iws) (i32.shl (i32.add (local.get $m) (local.get $i)) (i32.const 3)))))
        (local.set $Wv (i64x2.splat (i64.load (i32.add (local.get $iw) (i32.shl (i32.add (local.get $m) (local.get $i)) (i32.const 3))))))
        (local.set $WSl (call $wsLow (local.get $WS)))
        (local.set $WSh (call $wsHigh (local.get $WS)))
        (local.set $j (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $t)) (i32.const 4))))
        (local.set $end (i32.add (local.get $j) (i32.shl (local.get $t) (i32.const 3))))
        (loop $pair
          (local.set $y (i32.add (local.get $j) (i32.shl (local.get $t) (i32.const 3))))
          (local.set $Uv (v128.load (local.get $j)))
          (local.set $Vv (v128.load (local.get $y)))
          (v128.store (local.get $j) (call $csub2 (i64x2.add (local.get $Uv) (local.get $Vv)) (local.get $P2v)))
          (v128.store (local.get $y) (call $mulShoup2 (i64x2.add (i64x2.sub (local.get $Uv) (local.get $Vv)) (local.get $P2v)) (local.get $Wv) (local.get $WSl) (local.get $WSh) (local.get $Pv)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $pair (i32.lt_u (local.get $j) (local.get $end))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $group (i32.lt_u (local.get $i) (local.get $m))))
      (local.set $m (i32.shr_u (local.get $m) (i32.const 1)))
      (local.set $t (i32.shl (local.get $t) (i32.const 1)))
      (br $stage)))
    ;; The last stage (halves of the array, root 1) scaled by n^-1, fully reduced.
    (local.set $Nv (i64x2.splat (local.get $ninv)))
    (local.set $NSl (call $wsLow (local.get $ninvs)))
    (local.set $NSh (call $wsHigh (local.get $ninvs)))
    (local.set $Wv (i64x2.splat (local.get $wn)))
    (local.set $WSl (call $wsLow (local.get $wns)))
    (local.set $WSh (call $wsHigh (local.get $wns)))
    (local.set $j (local.get $a))
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $t) (i32.const 3))))
    (loop $last
      (local.set $y (i32.add (local.get $j) (i32.shl (local.get $t) (i32.const 3))))
      (local.set $Uv (v128.load (local.get $j)))
      (local.set $Vv (v128.load (local.get $y)))
      (v128.store (local.get $j) (call $csub2 (call $mulShoup2 (i64x2.add (local.get $Uv) (local.get $Vv)) (local.get $Nv) (local.get $NSl) (local.get $NSh) (local.get $Pv)) (local.get $Pv)))
      (v128.store (local.get $y) (call $csub2 (call $mulShoup2 (i64x2.add (i64x2.sub (local.get $Uv) (local.get $Vv)) (local.get $P2v)) (local.get $Wv) (local.get $WSl) (local.get $WSh) (local.get $Pv)) (local.get $Pv)))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (br_if $last (i32.lt_u (local.get $j) (local.get $end)))))

  ;; Galois automorphism in NTT form, a permutation (SEAL's apply_galois_ntt):
  ;; dst[i] = src[table[i]] (table: n u32), or with `add`, dst[i] = dst[i] +
  ;; src[table[i]] mod q (entries below q).
  (func (export "permute") (param $dst i32) (param $src i32) (param $table i32) (param $n i32) (param $q i64) (param $add i32)
    (local $i i32) (local $v i64)
    (local.set $i (i32.const 0))
    (loop $each
      (local.set $v (i64.load (i32.add (local.get $src) (i32.shl (i32.load (i32.add (local.get $table) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 3)))))
      (if (local.get $add) (then
        (local.set $v (call $csub (i64.add (local.get $v) (i64.load (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 3))))) (local.get $q)))))
      (i64.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 3))) (local.get $v))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (local.get $n)))))

  ;; 128-bit accumulation acc[i] += a[i] * k[i] (acc: n pairs of u64, low
  ;; word first). The caller bounds the number of terms so nothing overflows.
  ;; Two coefficients at a time: $mac2 takes their 64-bit operands as i64
  ;; lanes.
  (func (export "mac") (param $acc i32) (param $a i32) (param $k i32) (param $n i32)
    (local $i i32)
    (local.set $i (i32.const 0))
    (loop $each
      (call $mac2 (i32.add (local.get $acc) (i32.shl (local.get $i) (i32.const 4)))
        (v128.load (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 3))))
        (v128.load (i32.add (local.get $k) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br_if $each (i32.lt_u (local.get $i) (local.get $n)))))

  ;; As `mac` with `a` permuted: acc[i] += a[table[i]] * k[i] (a hoisted
  ;; rotation: the automorphism applied to an already decomposed ciphertext).
  (func (export "macPermuted") (param $acc i32) (param $a i32) (param $table i32) (param $k i32) (param $n i32)
    (local $i i32) (local $t i32)
    (local.set $i (i32.const 0))
    (loop $each
      (local.set $t (i32.add (local.get $table) (i32.shl (local.get $i) (i32.const 2))))
      (call $mac2 (i32.add (local.get $acc) (i32.shl (local.get $i) (i32.const 4)))
        (i64x2.replace_lane 1
          (i64x2.splat (i64.load (i32.add (local.get $a) (i32.shl (i32.load (local.get $t)) (i32.const 3)))))
          (i64.load (i32.add (local.get $a) (i32.shl (i32.load offset=4 (local.get $t)) (i32.const 3)))))
        (v128.load (i32.add (local.get $k) (i32.shl (local.get $i) (i32.const 3)))))
      (local.set $i (i32.add (local.get $i) (i32.const 2)))
      (br_if $each (i32.lt_u (local.get $i) (local.get $n)))))

  ;; The two 128-bit accumulators at `at` (lo0 hi0 lo1 hi1) += x * y per i64
  ;; lane (operands below 2^62): the high words from four 32x32-bit products
  ;; per lane, as $mulShoup2.
  (func $mac2 (param $at i32) (param $x v128) (param $y v128)
    (local $xs v128) (local $yl v128) (local $yh v128) (local $ll v128) (local $lh v128) (local $hl v128) (local $m v128)
    (local $prod v128) (local $hi v128) (local $lo v128) (local $old v128) (local $oldHi v128)
    (local.set $m (i64x2.splat (i64.const 0xffffffff)))
    ;; i32 lanes: x as [x_a lo, x_b lo, x_a hi, x_b hi]; y as [lo lo hi hi] per lane pair and [hi hi lo lo]
    (local.set $xs (i8x16.shuffle 0 1 2 3 8 9 10 11 4 5 6 7 12 13 14 15 (local.get $x) (local.get $x)))
    (local.set $yl (i8x16.shuffle 0 1 2 3 8 9 10 11 4 5 6 7 12 13 14 15 (local.get $y) (local.get $y)))
    (local.set $yh (i8x16.shuffle 4 5 6 7 12 13 14 15 0 1 2 3 8 9 10 11 (local.get $y) (local.get $y)))
    (local.set $ll (i64x2.extmul_low_i32x4_u (local.get $xs) (local.get $yl)))
    (local.set $lh (i64x2.extmul_low_i32x4_u (local.get $xs) (local.get $yh)))
    (local.set $hl (i64x2.extmul_high_i32x4_u (local.get $xs) (local.get $yh)))
    (local.set $hi
      (i64x2.add (i64x2.add (i64x2.add (i64x2.extmul_high_i32x4_u (local.get $xs) (local.get $yl)) (i64x2.shr_u (local.get $lh) (i32.const 32))) (i64x2.shr_u (local.get $hl) (i32.const 32)))
        (i64x2.shr_u (i64x2.add (i64x2.add (i64x2.shr_u (local.get $ll) (i32.const 32)) (v128.and (local.get $lh) (local.get $m))) (v128.and (local.get $hl) (local.get $m))) (i32.const 32))))
    (local.set $prod (i64x2.mul (local.get $x) (local.get $y)))
    ;; accumulators as lanes: [lo0 lo1] and [hi0 hi1]
    (local.set $old (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (v128.load (local.get $at)) (v128.load offset=16 (local.get $at))))
    (local.set $oldHi (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (v128.load (local.get $at)) (v128.load offset=16 (local.get $at))))
    (local.set $lo (i64x2.add (local.get $old) (local.get $prod)))
    ;; carry: lo < prod (unsigned), from the sign-flipped signed comparison
    (local.set $hi (i64x2.sub (i64x2.add (local.get $oldHi) (local.get $hi))
      (i64x2.lt_s (v128.xor (local.get $lo) (i64x2.splat (i64.const 0x8000000000000000))) (v128.xor (local.get $prod) (i64x2.splat (i64.const 0x8000000000000000))))))
    (v128.store (local.get $at) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $lo) (local.get $hi)))
    (v128.store offset=16 (local.get $at) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $lo) (local.get $hi))))

    ;; dst[i] = acc[i] mod q (acc as in `mac`).
  (func (export "reduce") (param $dst i32) (param $acc i32) (param $n i32) (param $q i64) (param $r1 i64) (param $r0 i64)
    (local $i i32) (local $at i32)
    (local.set $i (i32.const 0))
    (loop $each
      (local.set $at (i32.add (local.get $acc) (i32.shl (local.get $i) (i32.const 4))))
      (i64.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 3)))
        (call $reduce (i64.load offset=8 (local.get $at)) (i64.load (local.get $at)) (local.get $q) (local.get $r1) (local.get $r0)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (local.get $n)))))

  ;; Mod-down, first half (SEAL's switch_key_inplace): t holds the special
  ;; prime's part as coefficients below p; it becomes ((t + half) mod p) mod q
  ;; + fix mod q, with half = floor(p/2) and fix = q - (half mod q), so that
  ;; after the NTT mod q, (acc_q - t) / p rounds instead of flooring.
  ;; Needs p < 4q.
  (func (export "modDownPrepare") (param $t i32) (param $n i32) (param $p i64) (param $half i64) (param $q i64) (param $fix i64)
    (local $i i32) (local $at i32) (local $x i64) (local $q2 i64)
    (local.set $q2 (i64.shl (local.get $q) (i64.const 1)))
    (local.set $i (i32.const 0))
    (loop $each
      (local.set $at (i32.add (local.get $t) (i32.shl (local.get $i) (i32.const 3))))
      (local.set $x (call $csub (i64.add (i64.load (local.get $at)) (local.get $half)) (local.get $p)))
      (local.set $x (call $csub (call $csub (local.get $x) (local.get $q2)) (local.get $q)))
      (i64.store (local.get $at) (call $csub (i64.add (local.get $x) (local.get $fix)) (local.get $q)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (local.get $n)))))

  ;; Mod-down, second half: out[i] = base[i] + (accq[i] - t[i]) * p^-1 mod q,
  ;; all entries below q; base may be out (or a zero polynomial's address).
  (func (export "modDownFinish") (param $out i32) (param $base i32) (param $accq i32) (param $t i32) (param $n i32) (param $q i64) (param $pinv i64) (param $pinvs i64)
    (local $i i32) (local $o i32) (local $x i64)
    (local.set $i (i32.const 0))
    (loop $each
      (local.set $o (i32.shl (local.get $i) (i32.const 3)))
      (local.set $x (i64.sub (i64.add (i64.load (i32.add (local.get $accq) (local.get $o))) (local.get $q)) (i64.load (i32.add (local.get $t) (local.get $o)))))
      (local.set $x (call $csub (call $mulShoup (local.get $x) (local.get $pinv) (local.get $pinvs) (local.get $q)) (local.get $q)))
      (i64.store (i32.add (local.get $out) (local.get $o))
        (call $csub (i64.add (local.get $x) (i64.load (i32.add (local.get $base) (local.get $o)))) (local.get $q)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $i) (local.get $n)))))
)
