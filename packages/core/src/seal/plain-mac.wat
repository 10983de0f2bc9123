;; Sum of plaintext products over SEAL's own memory (see plain-mac.ts).
;;
;; SEAL in WebAssembly multiplies a ciphertext by a plaintext with a 128-bit
;; product and a Barrett reduction per coefficient, then adds it into the
;; accumulator in a second pass. A baby-step giant-step sum takes dozens of
;; such products into one result, so here every product of a coefficient is
;; added up first, in 30-bit limbs that need no carries, and reduced once:
;; limb k times 2^(30k) mod q by Shoup's method, two coefficients at a time.
;; The result is the same integer mod q, so it is byte-identical to SEAL's.
;;
;; Built into plain-mac-wasm.ts by `node scripts/build-wasm.ts` (wabt);
;; a test checks that the two agree. No data segments and no globals: this
;; module imports SEAL's memory and writes only the output coefficients.
(module
  (import "seal" "memory" (memory 1))

  ;; #include shoup-lanes.wat

  ;; Two coefficients' limb sums A0 + A1*2^30 + A2*2^60 + A3*2^90 (each below
  ;; 2^64) plus `old` (below q, or 0), fully reduced mod q: limb k times
  ;; c_k = 2^(30k) mod q by Shoup (quotient halves in $s), each brought below
  ;; q, then the sum (below 5q < 2^63) as well. $c: [q, c1, c2, c3] splat,
  ;; $s: [s0 low, s0 high, s1 low, ...] for c0 = 1, c1, c2, c3.
  (func $fold (param $A0 v128) (param $A1 v128) (param $A2 v128) (param $A3 v128) (param $old v128)
    (param $q v128) (param $c1 v128) (param $c2 v128) (param $c3 v128)
    (param $s0l v128) (param $s0h v128) (param $s1l v128) (param $s1h v128) (param $s2l v128) (param $s2h v128) (param $s3l v128) (param $s3h v128)
    (result v128)
    (local $r v128)
    (local.set $r (i64x2.add
      (i64x2.add
        (call $csub2 (call $mulShoup2 (local.get $A0) (i64x2.splat (i64.const 1)) (local.get $s0l) (local.get $s0h) (local.get $q)) (local.get $q))
        (call $csub2 (call $mulShoup2 (local.get $A1) (local.get $c1) (local.get $s1l) (local.get $s1h) (local.get $q)) (local.get $q)))
      (i64x2.add
        (call $csub2 (call $mulShoup2 (local.get $A2) (local.get $c2) (local.get $s2l) (local.get $s2h) (local.get $q)) (local.get $q))
        (call $csub2 (call $mulShoup2 (local.get $A3) (local.get $c3) (local.get $s3l) (local.get $s3h) (local.get $q)) (local.get $q)))))
    (local.set $r (i64x2.add (local.get $r) (local.get $old)))
    (local.set $r (call $csub2 (local.get $r) (i64x2.shl (local.get $q) (i32.const 2))))
    (local.set $r (call $csub2 (local.get $r) (i64x2.shl (local.get $q) (i32.const 1))))
    (call $csub2 (local.get $r) (local.get $q)))

    ;; out[p][t] = (accumulate ? out[p][t] : 0) + sum_k x_k[p][t] * w_k[t] mod q, for both
  ;; polynomials p of a ciphertext (poly 1 is `stride` bytes after poly 0), t < n
  ;; (n even). `list` holds `count` pairs of i32 addresses (x_k, w_k). Needs
  ;; q < 2^60 and count <= 128 (limb sums stay below 2^64); c1..c3 are
  ;; 2^30, 2^60 and 2^90 mod q, and k0..k3 the Shoup quotients of 1, c1, c2, c3. Each 64-bit coefficient is split
  ;; into 30-bit limbs, so a product is four 32x32-bit products (two 128-bit
  ;; SIMD lanes: coefficients t and t+1) and eight of them add up without
  ;; carries; the sums are folded into 30-bit limbs per batch of eight.
  (func (export "mac") (param $out i32) (param $list i32) (param $count i32) (param $n i32) (param $stride i32)
    (param $q i64) (param $c1 i64) (param $c2 i64) (param $c3 i64) (param $k0 i64) (param $k1 i64) (param $k2 i64) (param $k3 i64) (param $accumulate i32)
    (local $t i32) (local $end i32) (local $k i32) (local $e i32) (local $x i32) (local $o i32)
    (local $m v128) (local $w v128) (local $v v128) (local $xs v128) (local $xw v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $u0 v128) (local $u1 v128) (local $u2 v128)
    (local $A0 v128) (local $A1 v128) (local $A2 v128) (local $A3 v128)
    (local $B0 v128) (local $B1 v128) (local $B2 v128) (local $B3 v128)
    (local $Q v128) (local $C1 v128) (local $C2 v128) (local $C3 v128)
    (local $S0l v128) (local $S0h v128) (local $S1l v128) (local $S1h v128) (local $S2l v128) (local $S2h v128) (local $S3l v128) (local $S3h v128)
    (local $keep v128)
    (local.set $m (i64x2.splat (i64.const 0x3fffffff)))
    (local.set $Q (i64x2.splat (local.get $q)))
    (local.set $C1 (i64x2.splat (local.get $c1)))
    (local.set $C2 (i64x2.splat (local.get $c2)))
    (local.set $C3 (i64x2.splat (local.get $c3)))
    (local.set $S0l (call $wsLow (local.get $k0))) (local.set $S0h (call $wsHigh (local.get $k0)))
    (local.set $S1l (call $wsLow (local.get $k1))) (local.set $S1h (call $wsHigh (local.get $k1)))
    (local.set $S2l (call $wsLow (local.get $k2))) (local.set $S2h (call $wsHigh (local.get $k2)))
    (local.set $S3l (call $wsLow (local.get $k3))) (local.set $S3h (call $wsHigh (local.get $k3)))
    ;; all ones when accumulating: the old coefficients are kept, else masked to 0
    (local.set $keep (i64x2.splat (i64.extend_i32_u (local.get $accumulate))))
    (local.set $keep (i64x2.sub (i64x2.splat (i64.const 0)) (local.get $keep)))
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (local.set $t (i32.const 0))
    (block $done (loop $coeff
      (br_if $done (i32.ge_u (local.get $t) (local.get $end)))
      (local.set $A0 (v128.const i64x2 0 0)) (local.set $A1 (v128.const i64x2 0 0)) (local.set $A2 (v128.const i64x2 0 0)) (local.set $A3 (v128.const i64x2 0 0))
      (local.set $B0 (v128.const i64x2 0 0)) (local.set $B1 (v128.const i64x2 0 0)) (local.set $B2 (v128.const i64x2 0 0)) (local.set $B3 (v128.const i64x2 0 0))
      (local.set $k (i32.const 0))
      (block $batches (loop $batch
        (br_if $batches (i32.ge_u (local.get $k) (local.get $count)))
        (local.set $e (i32.add (local.get $k) (i32.const 8)))
        (if (i32.gt_u (local.get $e) (local.get $count)) (then (local.set $e (local.get $count))))
        (local.set $s0 (v128.const i64x2 0 0)) (local.set $s1 (v128.const i64x2 0 0)) (local.set $s2 (v128.const i64x2 0 0))
        (local.set $u0 (v128.const i64x2 0 0)) (local.set $u1 (v128.const i64x2 0 0)) (local.set $u2 (v128.const i64x2 0 0))
        (loop $product
          (local.set $o (i32.add (local.get $list) (i32.shl (local.get $k) (i32.const 3))))
          ;; w limbs as i32x4 [lo(t), lo(t+1), hi(t), hi(t+1)]
          (local.set $v (v128.load (i32.add (i32.load offset=4 (local.get $o)) (local.get $t))))
          (local.set $w (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
            (v128.and (local.get $v) (local.get $m)) (i64x2.shr_u (local.get $v) (i32.const 30))))
          (local.set $x (i32.add (i32.load (local.get $o)) (local.get $t)))
          ;; poly 0
          (local.set $v (v128.load (local.get $x)))
          (local.set $xs (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
            (v128.and (local.get $v) (local.get $m)) (i64x2.shr_u (local.get $v) (i32.const 30))))
          (local.set $xw (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $xs) (local.get $xs)))
          (local.set $s0 (i64x2.add (local.get $s0) (i64x2.extmul_low_i32x4_u (local.get $xs) (local.get $w))))
          (local.set $s2 (i64x2.add (local.get $s2) (i64x2.extmul_high_i32x4_u (local.get $xs) (local.get $w))))
          (local.set $s1 (i64x2.add (local.get $s1) (i64x2.add (i64x2.extmul_low_i32x4_u (local.get $xw) (local.get $w)) (i64x2.extmul_high_i32x4_u (local.get $xw) (local.get $w)))))
          ;; poly 1
          (local.set $v (v128.load (i32.add (local.get $x) (local.get $stride))))
          (local.set $xs (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
            (v128.and (local.get $v) (local.get $m)) (i64x2.shr_u (local.get $v) (i32.const 30))))
          (local.set $xw (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $xs) (local.get $xs)))
          (local.set $u0 (i64x2.add (local.get $u0) (i64x2.extmul_low_i32x4_u (local.get $xs) (local.get $w))))
          (local.set $u2 (i64x2.add (local.get $u2) (i64x2.extmul_high_i32x4_u (local.get $xs) (local.get $w))))
          (local.set $u1 (i64x2.add (local.get $u1) (i64x2.add (i64x2.extmul_low_i32x4_u (local.get $xw) (local.get $w)) (i64x2.extmul_high_i32x4_u (local.get $xw) (local.get $w)))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $product (i32.lt_u (local.get $k) (local.get $e))))
        (local.set $A0 (i64x2.add (local.get $A0) (v128.and (local.get $s0) (local.get $m))))
        (local.set $A1 (i64x2.add (local.get $A1) (i64x2.add (i64x2.shr_u (local.get $s0) (i32.const 30)) (v128.and (local.get $s1) (local.get $m)))))
        (local.set $A2 (i64x2.add (local.get $A2) (i64x2.add (i64x2.shr_u (local.get $s1) (i32.const 30)) (v128.and (local.get $s2) (local.get $m)))))
        (local.set $A3 (i64x2.add (local.get $A3) (i64x2.shr_u (local.get $s2) (i32.const 30))))
        (local.set $B0 (i64x2.add (local.get $B0) (v128.and (local.get $u0) (local.get $m))))
        (local.set $B1 (i64x2.add (local.get $B1) (i64x2.add (i64x2.shr_u (local.get $u0) (i32.const 30)) (v128.and (local.get $u1) (local.get $m)))))
        (local.set $B2 (i64x2.add (local.get $B2) (i64x2.add (i64x2.shr_u (local.get $u1) (i32.const 30)) (v128.and (local.get $u2) (local.get $m)))))
        (local.set $B3 (i64x2.add (local.get $B3) (i64x2.shr_u (local.get $u2) (i32.const 30))))
        (br $batch)))
      (local.set $o (i32.add (local.get $out) (local.get $t)))
      (v128.store (local.get $o)
        (call $fold (local.get $A0) (local.get $A1) (local.get $A2) (local.get $A3) (v128.and (v128.load (local.get $o)) (local.get $keep))
          (local.get $Q) (local.get $C1) (local.get $C2) (local.get $C3)
          (local.get $S0l) (local.get $S0h) (local.get $S1l) (local.get $S1h) (local.get $S2l) (local.get $S2h) (local.get $S3l) (local.get $S3h)))
      (local.set $o (i32.add (local.get $o) (local.get $stride)))
      (v128.store (local.get $o)
        (call $fold (local.get $B0) (local.get $B1) (local.get $B2) (local.get $B3) (v128.and (v128.load (local.get $o)) (local.get $keep))
          (local.get $Q) (local.get $C1) (local.get $C2) (local.get $C3)
          (local.get $S0l) (local.get $S0h) (local.get $S1l) (local.get $S1h) (local.get $S2l) (local.get $S2h) (local.get $S3l) (local.get $S3h)))
      (local.set $t (i32.add (local.get $t) (i32.const 16)))
      (br $coeff))))
)
