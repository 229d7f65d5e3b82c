import type { Clock } from '../clock.js';
import { AppError } from '../errors.js';
import { isBigintId } from '../ids.js';
import type { AuthRepository, PublicUser } from './auth.repository.js';
import { accountWords, judgePassword, MIN_PASSWORD_SCORE } from './password-strength.js';
import { DUMMY_HASH, hashPassword, newId, newToken, tokenHash, verifyPassword } from './secrets.js';
import { limitKeys, SignInLimiter, type SignInPolicy } from './sign-in-limits.js';

export const SESSION_DAYS = 30;
const DAY = 86_400_000;
/** Sliding expiry is written at most this often, not on every request. */
const TOUCH_EVERY_MS = 3_600_000;
/** Who is signing in from where: the address counts toward the sign-in limits. */
export interface SignInClient {
  userAgent: string | null;
  address: string;
}

export interface AuthContext {
  user: PublicUser;
  via: 'cookie' | 'token';
  sessionId?: string;
}

function toPublic(u: { id: string; email: string; display_name: string; created_at: Date }): PublicUser {
  return { id: u.id, email: u.email, displayName: u.display_name, createdAt: u.created_at.toISOString() };
}

/** 400 WEAK_PASSWORD with the estimator's feedback, for sign-up and any password change. */
export async function assertStrongPassword(password: string, email: string, displayName: string): Promise<void> {
  const verdict = await judgePassword(password, accountWords(email, displayName));
  if (verdict.score >= MIN_PASSWORD_SCORE) return;
  const message = verdict.warning
    ? `This password is too easy to guess: ${verdict.warning}`
    : 'This password is too easy to guess: choose a longer one, or a few uncommon words';
  throw new AppError('WEAK_PASSWORD', message, { ...verdict, minScore: MIN_PASSWORD_SCORE });
}

export class AuthService {
  constructor(
    private readonly repo: AuthRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * A refused sign-up (weak password, taken email) counts as a failure of the client's address, like a
   * failed sign-in: it bounds the estimator's work an address can ask for and how fast it can probe
   * which emails have accounts.
   */
  async signUp(
    input: { email: string; password: string; displayName: string },
    client: SignInClient,
    policy: SignInPolicy,
  ) {
    const limiter = new SignInLimiter(this.repo, this.clock, policy);
    const { address } = limitKeys(input.email, client.address);
    await limiter.assertAllowed({ address });
    try {
      await assertStrongPassword(input.password, input.email, input.displayName);
      const user = await this.repo.insertUser({
        id: newId(),
        email: input.email.trim(),
        displayName: input.displayName.trim(),
        passwordHash: await hashPassword(input.password),
      });
      if (!user) throw new AppError('EMAIL_TAKEN');
      return { user: toPublic(user), ...(await this.openSession(user.id, client.userAgent)) };
    } catch (err) {
      if (err instanceof AppError) await limiter.failed({ address });
      throw err;
    }
  }

  async signIn(input: { email: string; password: string }, client: SignInClient, policy: SignInPolicy) {
    const limiter = new SignInLimiter(this.repo, this.clock, policy);
    const keys = limitKeys(input.email, client.address);
    await limiter.assertAllowed(keys);
    const user = await this.repo.findUserByEmail(input.email.trim());
    const ok = user?.password_hash
      ? await verifyPassword(user.password_hash, input.password)
      : await verifyPassword(await DUMMY_HASH, input.password).then(() => false);
    if (!user || !ok) {
      await limiter.failed(keys);
      throw new AppError('INVALID_CREDENTIALS');
    }
    await limiter.succeeded(keys);
    return { user: toPublic(user), ...(await this.openSession(user.id, client.userAgent)) };
  }

  /** Ends every session of the user (this one too) and revokes all their API tokens. */
  async signOutEverywhere(userId: string): Promise<{ sessions: number; tokens: number }> {
    return this.repo.revokeEverything(userId, this.clock.now());
  }

  private async openSession(userId: string, userAgent: string | null) {
    const token = newToken('rs');
    const expiresAt = new Date(this.clock.now().getTime() + SESSION_DAYS * DAY);
    await this.repo.insertSession({
      id: tokenHash(token),
      userId,
      expiresAt,
      userAgent: userAgent?.slice(0, 500) ?? null,
    });
    return { sessionToken: token, expiresAt };
  }

  async signOut(sessionToken: string): Promise<void> {
    await this.repo.deleteSession(tokenHash(sessionToken));
  }

  /** The user behind a session cookie, or undefined; extends the session as it is used. */
  async fromSession(sessionToken: string): Promise<AuthContext | undefined> {
    const id = tokenHash(sessionToken);
    const now = this.clock.now();
    const row = await this.repo.sessionUser(id, now);
    if (!row) return undefined;
    if (now.getTime() - row.last_seen_at.getTime() > TOUCH_EVERY_MS) {
      await this.repo.touchSession(id, now, new Date(now.getTime() + SESSION_DAYS * DAY));
    }
    return { user: toPublic(row), via: 'cookie', sessionId: id };
  }

  async fromApiToken(token: string): Promise<AuthContext | undefined> {
    const now = this.clock.now();
    const row = await this.repo.tokenUser(tokenHash(token), now);
    if (!row) return undefined;
    if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > 60_000)
      await this.repo.touchToken(row.token_id, now);
    return { user: toPublic(row), via: 'token' };
  }

  async createToken(userId: string, name: string, expiresInDays: number | undefined) {
    const token = newToken('rt');
    const expiresAt = expiresInDays ? new Date(this.clock.now().getTime() + expiresInDays * DAY) : null;
    const row = await this.repo.insertToken({
      userId,
      name: name.trim(),
      hash: tokenHash(token),
      prefix: token.slice(0, 10),
      expiresAt,
    });
    return {
      id: row.id,
      name: row.name,
      prefix: row.token_prefix,
      createdAt: row.created_at.toISOString(),
      expiresAt: row.expires_at?.toISOString() ?? null,
      token,
    };
  }

  async listTokens(userId: string) {
    return (await this.repo.listTokens(userId)).map((t) => ({
      id: t.id,
      name: t.name,
      prefix: t.token_prefix,
      createdAt: t.created_at.toISOString(),
      lastUsedAt: t.last_used_at?.toISOString() ?? null,
      expiresAt: t.expires_at?.toISOString() ?? null,
    }));
  }

  async revokeToken(userId: string, id: string): Promise<void> {
    if (!isBigintId(id) || !(await this.repo.revokeToken(userId, id, this.clock.now())))
      throw new AppError('TOKEN_NOT_FOUND');
  }
}
