/**
 * Password strength, estimated the way an attacker would guess: zxcvbn-ts with its common-password
 * list (the most used passwords from breach corpora), English words, names and keyboard patterns, plus
 * the words of the account itself (email, name). Length alone let `password` and eight spaces through.
 */
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as english from '@zxcvbn-ts/language-en';

/** zxcvbn's scale is 0..4; 3 is "safely unguessable: moderate protection from offline slow-hash attack". */
export const MIN_PASSWORD_SCORE = 3;

/** Words an attacker who targets this site would try first, whoever the user is. */
const SITE_WORDS = ['recorder', 'recording', 'record'];

export interface PasswordVerdict {
  score: number;
  /** zxcvbn's warning, in English; null when it has none. */
  warning: string | null;
  suggestions: string[];
}

// Built on first use: ranking the dictionaries takes ~100 ms, which a server that never sees a
// sign-up need not pay at start.
let estimator: ZxcvbnFactory | undefined;
function zxcvbn(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    translations: english.translations,
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...english.dictionary },
  });
  return estimator;
}

/** The account's own words: the whole email, its parts, the display name and its words. */
export function accountWords(email: string, displayName: string): string[] {
  const lower = email.trim().toLowerCase();
  const [local = '', domain = ''] = lower.split('@');
  const parts = [lower, local, domain, ...local.split(/[^a-z0-9]+/), ...domain.split('.')];
  const name = displayName.trim().toLowerCase();
  const nameWords = [name, name.replace(/\s+/g, ''), ...name.split(/\s+/)];
  return [...new Set([...parts, ...nameWords, ...SITE_WORDS])].filter((w) => w.length >= 3);
}

export function judgePassword(password: string, userWords: string[]): PasswordVerdict {
  const result = zxcvbn().check(password, userWords);
  return { score: result.score, warning: result.feedback.warning, suggestions: result.feedback.suggestions };
}
