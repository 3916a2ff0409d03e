// The CUDA emulator itself (native/cuda/emu, `npm run build:emu`, run with CROSSROAD_BUILD=emu):
// kernels that break CUDA's rules must fail with an Error that says what and where, launch
// configurations a GPU rejects are rejected, and correct collectives give CUDA's results.
// Elsewhere (a real GPU or no CUDA) these tests are skipped.

import test from 'ava';
import { info } from '../lib/index.js';
import { native } from '../lib/native.js';

const emulated = info().cuda.emulated === true;
if (!emulated) console.log('cuda-emu.test: skipped (not the emulator build; run `npm run build:emu` and CROSSROAD_BUILD=emu)');
const emu = emulated ? test.serial : test.skip;

function selfTest(name: string): string {
  return native.cudaEmuSelfTest!(name);
}

emu('the emulator says so in info()', (t) => {
  const cuda = info().cuda;
  t.true(cuda.built);
  t.true(cuda.available);
  t.is(cuda.devices[0]!.name, 'crossroad CUDA emulator');
  t.is(cuda.devices[0]!.computeCapability, '9.0');
});

emu('a divergent __syncthreads fails with both call sites', (t) => {
  const e = t.throws(() => selfTest('divergentBarrier'), { instanceOf: Error });
  t.regex(e.message, /divergent barriers/);
  t.regex(e.message, /selftest\.cu:\d+ but thread .* at selftest\.cu:\d+/);
  t.regex(e.message, /kernel divergentBarrierKernel, block \(0,0,0\)/);
});

emu('a read past the end of a device buffer is reported, not a crash', (t) => {
  const e = t.throws(() => selfTest('outOfBounds'), { instanceOf: Error });
  t.regex(e.message, /invalid memory access/);
  t.regex(e.message, /bytes past the end of a 512-byte device allocation/);
  t.regex(e.message, /kernel readPastEndKernel, block \(0,0,0\), thread \(0,0,0\)/);
  // The process and the emulator carry on.
  t.is(selfTest('collectives').split(',').length, 70);
});

emu('a shuffle with a lane that has exited fails', (t) => {
  const e = t.throws(() => selfTest('shuffleAfterExit'), { instanceOf: Error });
  t.regex(e.message, /lane 5/);
  t.regex(e.message, /exited/);
});

emu('lanes at different warp collectives fail', (t) => {
  const e = t.throws(() => selfTest('divergentShuffle'), { instanceOf: Error });
  t.regex(e.message, /divergent warp collective/);
  t.regex(e.message, /__shfl_xor_sync/);
  t.regex(e.message, /__ballot_sync/);
});

emu('a warp shuffle waiting on a lane at __syncthreads fails', (t) => {
  // Lanes 0…15 shuffle with a full mask while lanes 16…31 wait at the barrier: a deadlock on a GPU.
  const e = t.throws(() => selfTest('barrierInWarp'), { instanceOf: Error });
  t.regex(e.message, /waits at __shfl_down_sync\(mask 0xffffffff\) at selftest\.cu:\d+ for lane 16, which waits at __syncthreads/);
});

emu('launch configurations a GPU rejects fail as CUDA errors', (t) => {
  t.throws(() => selfTest('tooManyThreads'), { instanceOf: Error, message: /cudaErrorInvalidConfiguration/ });
  t.throws(() => selfTest('zeroGrid'), { instanceOf: Error, message: /cudaErrorInvalidConfiguration/ });
  t.throws(() => selfTest('gridYTooLarge'), { instanceOf: Error, message: /cudaErrorInvalidConfiguration/ });
  t.throws(() => selfTest('sharedWithoutOptIn'), { instanceOf: Error, message: /cudaErrorInvalidValue/ });
  t.throws(() => selfTest('noSuchTest'), { instanceOf: RangeError });
});

emu('shuffles, ballots, votes, barriers and barrier reductions give CUDA results', (t) => {
  const out = selfTest('collectives').split(',').map(Number);
  // Σ 0…255 through warp sums and a shared-memory total.
  t.is(out[0], (255 * 256) / 2);
  t.is(out[1], 0xaaaaaaaa | 0);
  t.is(out[2], 1);
  // __shfl_up_sync by 3: lanes below 3 keep their own value.
  t.deepEqual(out.slice(3, 35), Array.from({ length: 32 }, (_, l) => (l < 3 ? l : l - 3)));
  // __shfl_sync with width 16: source (lane + 1) % 32 taken modulo 16 within each half.
  t.deepEqual(out.slice(35, 67), Array.from({ length: 32 }, (_, l) => ((l & 16) + (((l + 1) % 32) & 15)) * 10));
  // __syncthreads_count / _and / _or over 256 threads.
  t.deepEqual(out.slice(67, 70), [86, 1, 1]);
});

emu('a cooperative launch runs every block at once, with grid-wide barriers', (t) => {
  t.is(selfTest('gridRounds'), 'occupancy 2, all 9');
});

emu('cooperative launch errors: a block exiting before a grid sync, too many blocks, a grid sync outside one', (t) => {
  t.throws(() => selfTest('gridExit'), { instanceOf: Error, message: /exited|can never reach it/ });
  t.throws(() => selfTest('gridTooLarge'), { instanceOf: Error, message: /cudaErrorCooperativeLaunchTooLarge/ });
  t.throws(() => selfTest('gridSyncNotCooperative'), {
    instanceOf: Error,
    message: /this_grid\(\)\.sync\(\) at selftest\.cu:\d+ in a kernel not launched with cudaLaunchCooperativeKernel/,
  });
  // Still usable afterwards.
  t.is(selfTest('gridRounds'), 'occupancy 2, all 9');
});

emu('shared memory a kernel never wrote reads as 0xff bytes (NaN), in every block and launch', (t) => {
  // 2 launches × 128 values (64 static, 64 dynamic), each written by the last of 3 blocks.
  t.is(selfTest('unwrittenShared'), '256');
});
