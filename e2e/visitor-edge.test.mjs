// The visitor's side through the edge: `wrangler dev` in front of `kefu serve` (the suite:
// visitor-suite.mjs).

import { visitorSuite } from './visitor-suite.mjs';

visitorSuite({ onEdge: true });
