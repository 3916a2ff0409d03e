// Every mixer of the zoo, registered on import. Add one import line per mixer file.

import './lstm.js';
import './elman.js';
import './gru.js';
import './orthogonal_rnn.js';
import './unitary_rnn.js';
import './attention.js';
import './linear_transformer.js';
import './performer.js';
import './retnet.js';
import './gla.js';
import './mamba.js';
import './rglru.js';
import './linoss.js';
import './liquid_s4.js';
import './mamba2.js';
import './mlstm.js';
import './slstm.js';
import './gau.js';
import './flash.js';
import './lru.js';
import './s4d.js';
import './s5.js';
import './s4.js';
