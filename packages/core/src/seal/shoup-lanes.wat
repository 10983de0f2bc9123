;; Shared by the kernels (included by scripts/wasm-assemble.ts where a
;; kernel says `;; #include shoup-lanes.wat`): Shoup's modular product and
;; a conditional subtraction on two i64 lanes at once.

  ;; Two lanes of x*w mod p in [0, 2p) (Shoup), for x below 2^64: w splat,
  ;; and the Shoup quotient ws = floor(w * 2^64 / p) as the i32 lanes
  ;; [lo lo hi hi] ($wsl) and [hi hi lo lo] ($wsh) of $wsLow and $wsHigh. The
  ;; high 64 bits of x*ws come from four 32x32-bit products per lane
  ;; (extmul); WebAssembly has no 64x64-bit lane multiply beyond the low word.
  (func $mulShoup2 (param $x v128) (param $w v128) (param $wsl v128) (param $wsh v128) (param $p v128) (result v128)
    (local $xs v128) (local $ll v128) (local $lh v128) (local $hl v128) (local $m v128)
    (local.set $m (i64x2.splat (i64.const 0xffffffff)))
    ;; i32 lanes [x_a lo, x_b lo, x_a hi, x_b hi]
    (local.set $xs (i8x16.shuffle 0 1 2 3 8 9 10 11 4 5 6 7 12 13 14 15 (local.get $x) (local.get $x)))
    (local.set $ll (i64x2.extmul_low_i32x4_u (local.get $xs) (local.get $wsl)))
    (local.set $lh (i64x2.extmul_low_i32x4_u (local.get $xs) (local.get $wsh)))
    (local.set $hl (i64x2.extmul_high_i32x4_u (local.get $xs) (local.get $wsh)))
    (i64x2.sub (i64x2.mul (local.get $x) (local.get $w))
      (i64x2.mul
        (i64x2.add (i64x2.add (i64x2.add (i64x2.extmul_high_i32x4_u (local.get $xs) (local.get $wsl)) (i64x2.shr_u (local.get $lh) (i32.const 32))) (i64x2.shr_u (local.get $hl) (i32.const 32)))
          (i64x2.shr_u (i64x2.add (i64x2.add (i64x2.shr_u (local.get $ll) (i32.const 32)) (v128.and (local.get $lh) (local.get $m))) (v128.and (local.get $hl) (local.get $m))) (i32.const 32)))
        (local.get $p))))

  ;; x - m per lane where x >= m (entries below 2^63: a signed comparison is exact).
  (func $csub2 (param $x v128) (param $m v128) (result v128)
    (i64x2.sub (local.get $x) (v128.and (local.get $m) (i64x2.ge_s (local.get $x) (local.get $m)))))

  ;; A Shoup quotient's halves as the i32 lanes $mulShoup2 takes: [lo lo hi hi] ...
  (func $wsLow (param $ws i64) (result v128)
    (i8x16.shuffle 0 1 2 3 0 1 2 3 4 5 6 7 4 5 6 7 (i64x2.splat (local.get $ws)) (i64x2.splat (local.get $ws))))
  ;; ... and [hi hi lo lo].
  (func $wsHigh (param $ws i64) (result v128)
    (i8x16.shuffle 4 5 6 7 4 5 6 7 0 1 2 3 0 1 2 3 (i64x2.splat (local.get $ws)) (i64x2.splat (local.get $ws))))
