// Builds the native addon. Default: node-gyp (CPU kernels), as `npm install` does.
// --cmake: the cmake-js build, which adds the CUDA backend when nvcc is found
// (CROSSROAD_CUDA=ON forces it, =OFF leaves it out).
// --emu: the cmake-js build with the CUDA kernels compiled for the CPU emulator
// (native/cuda/emu) into build-emu/, for running the GPU tests without a GPU.
//
// Node's own headers are used when they sit beside the running node binary,
// so no header download is ever needed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const useEmu = process.argv.includes('--emu');
const useCmake = process.argv.includes('--cmake');
const jobs = String(Math.max(1, cpus().length));

function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = resolve(dirname(process.execPath), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function run(command, args, env = process.env) {
  console.log(`> ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env, shell: process.platform === 'win32' });
  if (result.error) {
    console.error(`build-native: could not run ${command}: ${result.error.message}`);
    process.exit(1);
  }
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function findBin(name) {
  const local = join(root, 'node_modules', '.bin', name);
  return existsSync(local) ? local : name;
}

if (useEmu) {
  run(findBin('cmake-js'), ['compile', '--out', 'build-emu', '--parallel', jobs, '--CDCROSSROAD_CUDA=EMU']);
} else if (useCmake) {
  const args = ['compile', '--out', 'build-cmake', '--parallel', jobs];
  if (process.env.CROSSROAD_CUDA) args.push(`--CDCROSSROAD_CUDA=${process.env.CROSSROAD_CUDA}`);
  run(findBin('cmake-js'), args);
} else {
  const dir = nodeDir();
  const env = { ...process.env };
  if (dir) env.npm_config_nodedir = dir;
  // npm puts its bundled node-gyp on PATH for lifecycle scripts; npm_config_node_gyp names it otherwise.
  const gyp = process.env.npm_config_node_gyp;
  const args = ['rebuild', `--jobs=${jobs}`];
  if (dir) args.push(`--nodedir=${dir}`);
  if (gyp && existsSync(gyp)) run(process.execPath, [gyp, ...args], env);
  else run(findBin('node-gyp'), args, env);
}
