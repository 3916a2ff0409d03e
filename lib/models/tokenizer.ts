// Text ↔ token ids for a checkpoint folder's tokenizer.json (and
// tokenizer_config.json), through @huggingface/tokenizers.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

export interface TextTokenizer {
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  /** the end-of-sequence token id, when the tokenizer config names one */
  eosTokenId?: number;
}

export function loadTokenizer(dir: string): TextTokenizer {
  const read = (name: string) => {
    const path = join(dir, name);
    if (!existsSync(path)) return {};
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new RangeError(`tokenizer: ${path} is not valid JSON (${(e as Error).message})`);
    }
  };
  const tokenizerJson = read('tokenizer.json');
  const tokenizerConfig = read('tokenizer_config.json');
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  } catch (e) {
    throw new RangeError(`tokenizer: ${join(dir, 'tokenizer.json')} could not be loaded (${(e as Error).message})`);
  }
  const eos = tokenizerConfig.eos_token;
  const eosText = typeof eos === 'string' ? eos : eos && typeof eos === 'object' ? (eos as { content?: string }).content : undefined;
  return {
    encode: (text, options = {}) => tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids,
    decode: (ids, options = {}) => tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false }),
    eosTokenId: eosText !== undefined ? tokenizer.token_to_id(eosText) : undefined,
  };
}
