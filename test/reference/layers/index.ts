// Float64 references of every mixer, by registry name. The zoo test fails for a
// registered mixer that has none here, so no mixer escapes its reference check.

import type { Mixer } from '../../../lib/layers/mixer.js';
import { lstmReference } from './lstm.js';
import { s4Reference } from './s4.js';
import { s5Reference } from './s5.js';
import { s4dReference } from './s4d.js';
import { lruReference } from './lru.js';
import { mamba2Reference } from './mamba2.js';
import { attentionReference } from './attention.js';
import { elmanReference } from './elman.js';
import { gruReference } from './gru.js';
import { orthogonalRnnReference } from './orthogonal_rnn.js';
import { unitaryRnnReference } from './unitary_rnn.js';
import { linearTransformerReference } from './linear_transformer.js';
import { performerReference } from './performer.js';
import { retnetReference } from './retnet.js';
import { glaReference } from './gla.js';
import { mambaReference } from './mamba.js';
import { rglruReference } from './rglru.js';
import { linossReference } from './linoss.js';
import { liquidS4Reference } from './liquid_s4.js';
import { mlstmReference } from './mlstm.js';
import { slstmReference } from './slstm.js';
import { gauReference } from './gau.js';
import { flashReference } from './flash.js';

export interface LayerReference {
  /** The layer's equations in float64 from the zero state, token by token: y [batch, L, dModel]. */
  forward(mixer: Mixer, x: Float64Array, batch: number, L: number): Float64Array;
  /** Bound on ‖y − ref‖/‖ref‖ (default 1e-5); a larger one says why beside it. */
  tolerance?: number;
}

export const layerReferences: Record<string, LayerReference> = {
  lstm: lstmReference,
  s4: s4Reference,
  s5: s5Reference,
  s4d: s4dReference,
  lru: lruReference,
  mamba2: mamba2Reference,
  attention: attentionReference,
  'local-attention': attentionReference,
  elman: elmanReference,
  gru: gruReference,
  'orthogonal-rnn': orthogonalRnnReference,
  'unitary-rnn': unitaryRnnReference,
  'linear-transformer': linearTransformerReference,
  performer: performerReference,
  retnet: retnetReference,
  gla: glaReference,
  mamba: mambaReference,
  rglru: rglruReference,
  linoss: linossReference,
  'liquid-s4': liquidS4Reference,
  mlstm: mlstmReference,
  slstm: slstmReference,
  gau: gauReference,
  flash: flashReference,
};
