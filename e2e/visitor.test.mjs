// The visitor's side against `kefu serve` (the suite: visitor-suite.mjs).

import { visitorSuite } from './visitor-suite.mjs';

visitorSuite({ onEdge: false });
