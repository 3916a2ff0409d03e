# The default build: CPU only, by node-gyp, run by `npm install`.
# Sources come from native/sources.json, the list CMakeLists.txt reads too.
# Kernels are compiled once per instruction set (scalar, AVX2, AVX-512) and
# chosen at load time by native/cpu/dispatch.cc.
{
  'target_defaults': {
    'cflags_cc': ['-std=c++17', '-O3', '-fvisibility=hidden', '-fno-math-errno', '-Wall', '-Wno-unused-function', '-Wno-maybe-uninitialized', '-Wno-uninitialized'],
    'cflags_cc!': ['-fno-exceptions', '-std=gnu++17', '-std=gnu++20', '-O2'],
    'cflags!': ['-fno-exceptions', '-O2'],
    'cflags': ['-fPIC'],
    'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
    'xcode_settings': {
      'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
      'CLANG_CXX_LANGUAGE_STANDARD': 'c++17',
      'MACOSX_DEPLOYMENT_TARGET': '11.0',
      'OTHER_CPLUSPLUSFLAGS': ['-O3', '-fno-math-errno'],
    },
  },
  'targets': [
    {
      'target_name': 'crossroad_kernels_scalar',
      'type': 'static_library',
      'sources': ['<!@(node scripts/list-sources.cjs kernels)'],
      'defines': ['CR_ISA_SCALAR'],
    },
    {
      'target_name': 'crossroad',
      'sources': [
        '<!@(node scripts/list-sources.cjs core)',
        '<!@(node scripts/list-sources.cjs napi)',
      ],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      'defines': ['CR_BUILD_SYSTEM="node-gyp"'],
      'dependencies': ['crossroad_kernels_scalar'],
      'conditions': [
        ['target_arch=="x64"', {
          'dependencies': ['crossroad_kernels_avx2', 'crossroad_kernels_avx512'],
        }],
      ],
    },
  ],
  'conditions': [
    ['target_arch=="x64"', {
      'targets': [
        {
          'target_name': 'crossroad_kernels_avx2',
          'type': 'static_library',
          'sources': ['<!@(node scripts/list-sources.cjs kernels)'],
          'defines': ['CR_ISA_AVX2'],
          'cflags_cc': ['-mavx2', '-mfma', '-mf16c'],
          'xcode_settings': {'OTHER_CPLUSPLUSFLAGS': ['-mavx2', '-mfma', '-mf16c']},
        },
        {
          'target_name': 'crossroad_kernels_avx512',
          'type': 'static_library',
          'sources': ['<!@(node scripts/list-sources.cjs kernels)'],
          'defines': ['CR_ISA_AVX512'],
          'cflags_cc': ['-mavx512f', '-mavx512bw', '-mavx512dq', '-mavx512vl', '-mavx2', '-mfma', '-mf16c'],
          'xcode_settings': {'OTHER_CPLUSPLUSFLAGS': ['-mavx512f', '-mavx512bw', '-mavx512dq', '-mavx512vl', '-mavx2', '-mfma', '-mf16c']},
        },
      ],
    }],
  ],
}
