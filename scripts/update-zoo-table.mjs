// Rewrites README.md's zoo table from the mixer registry (run after `tsc`):
//   node scripts/update-zoo-table.mjs
import { readFileSync, writeFileSync } from 'node:fs';

await import('../dist/lib/layers/mixers/index.js');
const { zooTable } = await import('../dist/lib/layers/registry.js');
const path = new URL('../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const block = /(<!-- zoo-table -->\n)[\s\S]*?(<!-- \/zoo-table -->)/;
if (!block.test(readme)) throw new Error('README.md has no <!-- zoo-table --> block');
writeFileSync(path, readme.replace(block, (_, open, close) => `${open}${zooTable()}\n${close}`));
console.log('README.md zoo table updated');
