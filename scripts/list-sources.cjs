// Prints one group of native/sources.json, space-separated, for binding.gyp.
// (CMakeLists.txt reads the same file with string(JSON).)
const groups = require('../native/sources.json');
const name = process.argv[2];
if (!Array.isArray(groups[name])) {
  console.error(`list-sources: no source group '${name}' in native/sources.json`);
  process.exit(1);
}
process.stdout.write(groups[name].join(' '));
