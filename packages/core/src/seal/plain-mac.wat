;; Sum of plaintext products over SEAL's own memory (see plain-mac.ts).
;;
;; SEAL in WebAssembly multiplies a ciphertext by a plaintext with a 128-bit
;; product and a Barrett reduction per coefficient, then adds it into the
;; accumulator in a second pass. A baby-step giant-step sum takes dozens of
;; such products into one result, so here every product of a coefficient is
;; added up first, in 30-bit limbs that need no carries, and reduced once.
;; The result is the same integer mod q, so it is byte-identical to SEAL's.
;;
;; Built into plain-mac-wasm.ts by `node scripts/build-wasm.ts` (wabt);
;; a test checks that the two agree. No data segments and no globals: this
;; module imports SEAL's memory and writes only the output coefficients.
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

  ;; (hi:lo) mod q by Barrett with r = floor(2^128 / q) = (r1:r0), as SEAL's barrett_reduce_128.
  (func $reduce (param $hi i64) (param $lo i64) (param $q i64) (param $r1 i64) (param $r0 i64) (result i64)
    (local $carry i64) (local $t1 i64) (local $t3 i64) (local $p i64) (local $r i64)
    ;; round 1
    (local.set $carry (call $mulhi (local.get $lo) (local.get $r0)))
    (local.set $p (i64.mul (local.get $lo) (local.get $r1)))
    (local.set $t1 (i64.add (local.get $p) (local.get $carry)))
    (local.set $t3 (i64.add (call $mulhi (local.get $lo) (local.get $r1)) (i64.extend_i32_u (i64.lt_u (local.get $t1) (local.get $p)))))
    ;; round 2
    (local.set $p (i64.mul (local.get $hi) (local.get $r0)))
    (local.set $carry (i64.add (call $mulhi (local.get $hi) (local.get $r0)) (i64.extend_i32_u (i64.lt_u (i64.add (local.get $t1) (local.get $p)) (local.get $t1)))))
    (local.set $t1 (i64.add (i64.add (i64.mul (local.get $hi) (local.get $r1)) (local.get $t3)) (local.get $carry)))
    (local.set $r (i64.sub (local.get $lo) (i64.mul (local.get $t1) (local.get $q))))
    (select (i64.sub (local.get $r) (local.get $q)) (local.get $r) (i64.ge_u (local.get $r) (local.get $q))))

  ;; out[p][t] = (accumulate ? out[p][t] : 0) + sum_k x_k[p][t] * w_k[t] mod q, for both
  ;; polynomials p of a ciphertext (poly 1 is `stride` bytes after poly 0), t < n
  ;; (n even). `list` holds `count` pairs of i32 addresses (x_k, w_k). Needs
  ;; q < 2^60 and count * q^2 + q < 2^128. Each 64-bit coefficient is split
  ;; into 30-bit limbs, so a product is four 32x32-bit products (two 128-bit
  ;; SIMD lanes: coefficients t and t+1) and eight of them add up without
  ;; carries; the sums are folded into 30-bit limbs per batch of eight.
  (func (export "mac") (param $out i32) (param $list i32) (param $count i32) (param $n i32) (param $stride i32)
    (param $q i64) (param $r1 i64) (param $r0 i64) (param $accumulate i32)
    (local $t i32) (local $end i32) (local $k i32) (local $e i32) (local $x i32) (local $o i32)
    (local $m v128) (local $w v128) (local $v v128) (local $xs v128) (local $xw v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $u0 v128) (local $u1 v128) (local $u2 v128)
    (local $A0 v128) (local $A1 v128) (local $A2 v128) (local $A3 v128)
    (local $B0 v128) (local $B1 v128) (local $B2 v128) (local $B3 v128)
    (local.set $m (i64x2.splat (i64.const 0x3fffffff)))
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
      (call $store (local.get $o)
        (i64x2.extract_lane 0 (local.get $A0)) (i64x2.extract_lane 0 (local.get $A1)) (i64x2.extract_lane 0 (local.get $A2)) (i64x2.extract_lane 0 (local.get $A3))
        (local.get $q) (local.get $r1) (local.get $r0) (local.get $accumulate))
      (call $store (i32.add (local.get $o) (i32.const 8))
        (i64x2.extract_lane 1 (local.get $A0)) (i64x2.extract_lane 1 (local.get $A1)) (i64x2.extract_lane 1 (local.get $A2)) (i64x2.extract_lane 1 (local.get $A3))
        (local.get $q) (local.get $r1) (local.get $r0) (local.get $accumulate))
      (local.set $o (i32.add (local.get $o) (local.get $stride)))
      (call $store (local.get $o)
        (i64x2.extract_lane 0 (local.get $B0)) (i64x2.extract_lane 0 (local.get $B1)) (i64x2.extract_lane 0 (local.get $B2)) (i64x2.extract_lane 0 (local.get $B3))
        (local.get $q) (local.get $r1) (local.get $r0) (local.get $accumulate))
      (call $store (i32.add (local.get $o) (i32.const 8))
        (i64x2.extract_lane 1 (local.get $B0)) (i64x2.extract_lane 1 (local.get $B1)) (i64x2.extract_lane 1 (local.get $B2)) (i64x2.extract_lane 1 (local.get $B3))
        (local.get $q) (local.get $r1) (local.get $r0) (local.get $accumulate))
      (local.set $t (i32.add (local.get $t) (i32.const 16)))
      (br $coeff))))

  ;; Normalize the limbs, add the old value if accumulating, reduce mod q and store.
  (func $store (param $at i32) (param $A0 i64) (param $A1 i64) (param $A2 i64) (param $A3 i64)
    (param $q i64) (param $r1 i64) (param $r0 i64) (param $accumulate i32)
    (local $lo i64) (local $hi i64) (local $old i64)
    (local.set $A1 (i64.add (local.get $A1) (i64.shr_u (local.get $A0) (i64.const 30))))
    (local.set $A2 (i64.add (local.get $A2) (i64.shr_u (local.get $A1) (i64.const 30))))
    (local.set $A3 (i64.add (local.get $A3) (i64.shr_u (local.get $A2) (i64.const 30))))
    (local.set $lo (i64.or (i64.or (i64.and (local.get $A0) (i64.const 0x3fffffff)) (i64.shl (i64.and (local.get $A1) (i64.const 0x3fffffff)) (i64.const 30))) (i64.shl (local.get $A2) (i64.const 60))))
    (local.set $hi (i64.or (i64.shr_u (i64.and (local.get $A2) (i64.const 0x3fffffff)) (i64.const 4)) (i64.shl (local.get $A3) (i64.const 26))))
    (if (local.get $accumulate) (then
      (local.set $old (i64.load (local.get $at)))
      (local.set $lo (i64.add (local.get $lo) (local.get $old)))
      (local.set $hi (i64.add (local.get $hi) (i64.extend_i32_u (i64.lt_u (local.get $lo) (local.get $old)))))))
    (i64.store (local.get $at) (call $reduce (local.get $hi) (local.get $lo) (local.get $q) (local.get $r1) (local.get $r0))))
)
