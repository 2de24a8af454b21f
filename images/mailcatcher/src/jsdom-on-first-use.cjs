/**
 * Stands in for `jsdom` inside the mailcatcher's bundle (cluster/images/specs.ts). maildev requires jsdom when
 * it starts but only builds a window when one mail is read (`GET /email/:id` sanitises its HTML); loading
 * jsdom is ~0.6 s of CPU and ~30 MB, so it is loaded then, on first use, instead.
 */
'use strict';

let jsdom;
const load = () => (jsdom ??= require('jsdom'));

class JSDOM {
  constructor(...args) {
    // A constructor that returns an object makes `new JSDOM()` that object: the real JSDOM instance.
    return new (load().JSDOM)(...args);
  }

  static fromURL(...args) {
    return load().JSDOM.fromURL(...args);
  }

  static fromFile(...args) {
    return load().JSDOM.fromFile(...args);
  }

  static fragment(...args) {
    return load().JSDOM.fragment(...args);
  }
}

module.exports = { JSDOM };
