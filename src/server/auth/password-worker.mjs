// Estimates password strength off the main thread: zxcvbn's pattern matching costs 10-50 ms on an
// ordinary password and several hundred on crafted repeats ("ab1!" x 16), which on the main thread would
// stall every request of the server for each sign-up an attacker sends. Plain JavaScript so a worker needs
// no TypeScript loader. Messages: {id, password, words} in, {id, score, warning, suggestions} out.
import { parentPort } from 'node:worker_threads';
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as english from '@zxcvbn-ts/language-en';

const zxcvbn = new ZxcvbnFactory({
  // Judged on its first 64 characters (bounds the work); a password that strong at 64 stays strong after.
  maxLength: 64,
  translations: english.translations,
  graphs: common.adjacencyGraphs,
  dictionary: { ...common.dictionary, ...english.dictionary },
});

parentPort.on('message', ({ id, password, words }) => {
  try {
    const { score, feedback } = zxcvbn.check(password, words);
    parentPort.postMessage({ id, score, warning: feedback.warning, suggestions: feedback.suggestions });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err?.message ?? err) });
  }
});
