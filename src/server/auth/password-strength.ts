/**
 * Password strength, estimated the way an attacker would guess: zxcvbn-ts with its common-password
 * list (the most used passwords from breach corpora), English words, names and keyboard patterns, plus
 * the words of the account itself (email, name). Length alone let `password` and eight spaces through.
 * The estimate runs on a worker thread (password-worker.mjs), one at a time, so a crafted password costs
 * the worker a few hundred ms and never stalls the server's other requests.
 */
import { Worker } from 'node:worker_threads';

/** zxcvbn's scale is 0..4; 3 is "safely unguessable: moderate protection from offline slow-hash attack". */
export const MIN_PASSWORD_SCORE = 3;
/** Longer than any estimate takes (worst measured ~0.4 s under load, and ~0.5 s to start the worker). */
const JUDGE_TIMEOUT_MS = 10_000;

/** Words an attacker who targets this site would try first, whoever the user is. */
const SITE_WORDS = ['recorder', 'recording', 'record'];

export interface PasswordVerdict {
  score: number;
  /** zxcvbn's warning, in English; null when it has none. */
  warning: string | null;
  suggestions: string[];
}

interface Pending {
  resolve(verdict: PasswordVerdict): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** One worker for the process, started at the first sign-up, replaced if it dies or stops answering. */
class PasswordJudge {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  judge(password: string, words: string[]): Promise<PasswordVerdict> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.failAll(new Error('the password estimate took too long')), JUDGE_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      worker.postMessage({ id, password, words });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./password-worker.mjs', import.meta.url));
    worker.unref(); // an idle judge never keeps the process alive
    worker.on('message', (m: PasswordVerdict & { id: number; error?: string }) => {
      const waiting = this.pending.get(m.id);
      if (!waiting) return;
      this.pending.delete(m.id);
      clearTimeout(waiting.timer);
      if (m.error) waiting.reject(new Error(`password estimate failed: ${m.error}`));
      else waiting.resolve({ score: m.score, warning: m.warning, suggestions: m.suggestions });
    });
    // Only this worker's own end fails what waits on it: a replacement may be running by then.
    worker.on('error', (err) => this.worker === worker && this.failAll(err));
    worker.on('exit', () => this.worker === worker && this.failAll(new Error('the password estimator stopped')));
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
    for (const waiting of this.pending.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(err);
    }
    this.pending.clear();
  }
}

const judge = new PasswordJudge();

/** The account's own words: the whole email, its parts, the display name and its words. */
export function accountWords(email: string, displayName: string): string[] {
  const lower = email.trim().toLowerCase();
  const [local = '', domain = ''] = lower.split('@');
  const parts = [lower, local, domain, ...local.split(/[^a-z0-9]+/), ...domain.split('.')];
  const name = displayName.trim().toLowerCase();
  const nameWords = [name, name.replace(/\s+/g, ''), ...name.split(/\s+/)];
  return [...new Set([...parts, ...nameWords, ...SITE_WORDS])].filter((w) => w.length >= 3);
}

export function judgePassword(password: string, userWords: string[]): Promise<PasswordVerdict> {
  return judge.judge(password, userWords);
}
