// Every mixer of the zoo, registered on import. Add one import line per mixer file.

import './lstm.js';
