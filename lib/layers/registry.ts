// The one registry of mixers: name, family, paper, config defaults and the
// factory. Tests, the command line, the README table and the models all read
// it, so a mixer cannot exist without appearing in each of them.

import type { Family, Mixer } from './mixer.js';

export interface Paper {
  title: string;
  authors: string;
  year: number;
  url: string;
}

/** Config every mixer accepts; each adds its own fields with defaults. */
export interface BaseConfig {
  dModel: number;
  seed?: number;
}

export interface MixerSpec<C extends BaseConfig = BaseConfig> {
  name: string;
  family: Family;
  paper: Paper;
  /** one line: what the mixer computes */
  summary: string;
  /** the config's fields beyond dModel/seed, with defaults (small sizes suited to tests) */
  defaults: Omit<C, 'dModel' | 'seed'>;
  /** whether the state stays the same size as the context grows */
  constantState: boolean;
  /**
   * Other configs the table-driven tests also run (each merged over the defaults), so every
   * option that changes the math (a nonlinearity, a discretisation, a feature map) is covered.
   */
  variants?: Partial<Omit<C, 'dModel' | 'seed'>>[];
  create(config: C): Mixer;
}

const specs = new Map<string, MixerSpec<BaseConfig>>();

export function registerMixer<C extends BaseConfig>(spec: MixerSpec<C>): MixerSpec<C> {
  if (specs.has(spec.name)) throw new Error(`registerMixer: '${spec.name}' is already registered`);
  specs.set(spec.name, spec as unknown as MixerSpec<BaseConfig>);
  return spec;
}

export function mixerSpecs(): MixerSpec<BaseConfig>[] {
  return [...specs.values()];
}

export function getMixerSpec(name: string): MixerSpec<BaseConfig> {
  const spec = specs.get(name);
  if (!spec) throw new RangeError(`unknown mixer '${name}' (known: ${[...specs.keys()].join(', ')})`);
  return spec;
}

/**
 * Creates a mixer by name. Unknown config fields are an error (they are
 * usually typos); missing ones take the spec's defaults.
 */
export function createMixer(name: string, config: Record<string, unknown>): Mixer {
  const spec = getMixerSpec(name);
  if (typeof config !== 'object' || config === null) throw new TypeError(`${name}: config must be an object`);
  const known = new Set(['dModel', 'seed', ...Object.keys(spec.defaults)]);
  for (const key of Object.keys(config)) {
    if (!known.has(key)) throw new TypeError(`${name}: unknown config field '${key}' (known: ${[...known].join(', ')})`);
  }
  const dModel = config.dModel;
  if (typeof dModel !== 'number' || !Number.isInteger(dModel) || dModel < 1) {
    throw new RangeError(`${name}: dModel must be a positive integer, got ${String(dModel)}`);
  }
  const merged = { ...spec.defaults, ...config } as BaseConfig;
  for (const [key, fallback] of Object.entries(spec.defaults)) {
    const v = (merged as unknown as Record<string, unknown>)[key];
    if (typeof fallback === 'number' && (typeof v !== 'number' || !Number.isFinite(v))) {
      throw new TypeError(`${name}: ${key} must be a finite number, got ${String(v)}`);
    }
    if (typeof fallback === 'boolean' && typeof v !== 'boolean') throw new TypeError(`${name}: ${key} must be a boolean, got ${String(v)}`);
    if (typeof fallback === 'string' && typeof v !== 'string') throw new TypeError(`${name}: ${key} must be a string, got ${String(v)}`);
  }
  return spec.create(merged);
}

/** The README's zoo table (Markdown), from the registry: test/zoo.test.ts checks the README carries it verbatim. */
export function zooTable(): string {
  const families: Record<string, string> = {
    rnn: 'RNN',
    attention: 'softmax attention',
    'linear-attention': 'linear attention',
    ssm: 'state space',
    hybrid: 'hybrid part',
  };
  const order = Object.keys(families);
  const rows = mixerSpecs()
    .slice()
    .sort((a, b) => order.indexOf(a.family) - order.indexOf(b.family) || a.name.localeCompare(b.name))
    .map((s) => `| \`${s.name}\` | ${families[s.family]} | ${s.summary.replace(/\|/g, '\\|')} | [${s.paper.title}](${s.paper.url}) (${s.paper.authors}, ${s.paper.year}) | ${s.constantState ? 'constant' : 'grows'} |`);
  return ['| mixer | family | computes | paper | state |', '|---|---|---|---|---|', ...rows].join('\n');
}
