// `crossroad run <model-dir> --prompt "…"`: loads a checkpoint folder, streams
// the generated text (or token ids when the folder has no tokenizer) to stdout,
// then reports prefill and decode speed on stderr.

import { existsSync, statSync } from 'node:fs';
import { models } from '../lib/index.js';
import { CliError } from './format.js';

export interface RunOptions {
  dir: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  seed: number;
  topK?: number;
  topP?: number;
}

export async function runGenerate(options: RunOptions, write: (s: string) => void): Promise<string> {
  if (!existsSync(options.dir) || !statSync(options.dir).isDirectory()) throw new CliError(`no such folder: ${options.dir}`);
  const model = await models.load(options.dir).catch((e: Error) => {
    throw new CliError(e.message);
  });
  const tokenizer = model.tokenizer;
  let prompt: number[];
  if (tokenizer) {
    prompt = tokenizer.encode(options.prompt);
  } else {
    // Without a tokenizer the prompt is token ids: "1 2 3".
    prompt = options.prompt.trim().split(/[\s,]+/).map(Number);
    if (prompt.some((v) => !Number.isInteger(v) || v < 0)) throw new CliError(`${options.dir} has no tokenizer.json: give --prompt as token ids, e.g. "1 2 3"`);
  }
  if (prompt.length === 0) throw new CliError('--prompt is empty');
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const t0 = performance.now();
  let firstAt = 0;
  let count = 0;
  try {
    for await (const step of model.generate(prompt, {
      maxTokens: options.maxTokens,
      temperature: options.temperature,
      seed: options.seed,
      topK: options.topK,
      topP: options.topP,
      signal: controller.signal,
    })) {
      if (count === 0) firstAt = performance.now();
      count++;
      write(step.text ? step.text[0]! : `${step.tokens[0]} `);
    }
  } catch (e) {
    if ((e as { name?: string }).name !== 'AbortError') throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
  const end = performance.now();
  const prefill = (firstAt - t0) / 1000;
  const decode = count > 1 ? (count - 1) / ((end - firstAt) / 1000) : 0;
  return `\n\nprefill: ${prompt.length} tokens in ${(prefill * 1000).toFixed(1)} ms (${(prompt.length / prefill).toFixed(0)} tok/s); decode: ${count} tokens, ${decode.toFixed(1)} tok/s`;
}
