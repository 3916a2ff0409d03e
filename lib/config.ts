// Process-wide switches.

export interface Config {
  /**
   * Fill every op's freshly allocated outputs with NaN before the kernel runs,
   * so elements a kernel fails to write show up as NaN. A debugging aid (the
   * test suite turns it on); it costs one pass over each output.
   */
  poisonOutputs: boolean;
}

export const config: Config = { poisonOutputs: false };

export function configure(options: Partial<Config>): Config {
  if (typeof options !== 'object' || options === null) throw new TypeError('configure: expected an options object');
  if (options.poisonOutputs !== undefined) {
    if (typeof options.poisonOutputs !== 'boolean') throw new TypeError('configure: poisonOutputs must be a boolean');
    config.poisonOutputs = options.poisonOutputs;
  }
  return { ...config };
}
