// The REST side of the console (docs/rest.md): logging in and out, keeping the access token fresh
// with the refresh token, and JSON requests that carry it.
//
// The refresh token is kept in localStorage (so a reload or a restart of the desktop app keeps
// the agent logged in); the access token lives in memory only.

/** @typedef {import('../../../crates/chat-core/bindings/protocol').Role} Role */

/**
 * The agent as REST answers it.
 * @typedef {{id: string, tenant: string, email: string, name: string, role: Role, capacity: number,
 *   sites: string[], all_sites: boolean, disabled: boolean}} Agent
 */
/** @typedef {{access_token: string, expires_in: number, refresh_token: string}} Tokens */

/** A request that failed: the HTTP status (0 when the server could not be reached) and its code. */
export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const KEPT = 'kefu.console.session';

export class Api {
  /** @type {string} */ base;
  /** @type {string | null} */ #access = null;
  /** When the access token expires, in ms since the epoch. */ #expiresAt = 0;
  /** @type {Promise<string> | null} */ #refreshing = null;
  /** Called when the session is over (refresh refused): the console shows the login again. */
  onEnded = () => {};

  /** @param {string} base the server, `https://chat.example` */
  constructor(base) {
    this.base = base.replace(/\/+$/, '');
  }

  /** @returns {{refresh_token: string, agent: Agent} | null} */
  get kept() {
    try {
      return JSON.parse(localStorage.getItem(KEPT) || 'null');
    } catch (_) {
      return null;
    }
  }

  /** @param {{refresh_token: string, agent: Agent} | null} value */
  set kept(value) {
    if (value) localStorage.setItem(KEPT, JSON.stringify(value));
    else localStorage.removeItem(KEPT);
  }

  /** @param {Tokens} tokens */
  #take(tokens) {
    this.#access = tokens.access_token;
    this.#expiresAt = Date.now() + tokens.expires_in * 1000;
  }

  /**
   * Logs in; nothing is kept when it fails.
   * @param {string} email @param {string} password @returns {Promise<Agent>}
   */
  async login(email, password) {
    /** @type {{tokens: Tokens, agent: Agent}} */
    const answer = await this.#fetch('POST', '/auth/login', { email, password }, null);
    this.#take(answer.tokens);
    this.kept = { refresh_token: answer.tokens.refresh_token, agent: answer.agent };
    return answer.agent;
  }

  /** Ends this session on the server too (as far as it can be reached). */
  async logout() {
    const kept = this.kept;
    this.kept = null;
    this.#access = null;
    if (kept) await this.#fetch('POST', '/auth/logout', { refresh_token: kept.refresh_token }, null).catch(() => {});
  }

  /** An access token good for at least another minute, refreshed when needed. */
  async accessToken() {
    if (this.#access && this.#expiresAt - Date.now() > 60_000) return this.#access;
    return this.refresh();
  }

  /** When the current access token expires (ms since the epoch). */
  get expiresAt() {
    return this.#expiresAt;
  }

  /** A new access token from the refresh token (one refresh at a time). */
  refresh() {
    this.#refreshing ??= (async () => {
      try {
        const kept = this.kept;
        if (!kept) throw new ApiError(401, 'unauthorized', 'not logged in');
        /** @type {Tokens} */
        const tokens = await this.#fetch('POST', '/auth/refresh', { refresh_token: kept.refresh_token }, null);
        this.#take(tokens);
        this.kept = { ...kept, refresh_token: tokens.refresh_token };
        return tokens.access_token;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
          this.kept = null;
          this.#access = null;
          this.onEnded();
        }
        throw error;
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  /**
   * A request as the logged-in agent; a 401 gets one refresh and one more try.
   * @param {'GET' | 'POST' | 'PATCH' | 'DELETE'} method @param {string} path under /api/v1
   * @param {unknown} [body]
   */
  async request(method, path, body) {
    const token = await this.accessToken();
    try {
      return await this.#fetch(method, path, body, token);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      return this.#fetch(method, path, body, await this.refresh());
    }
  }

  /**
   * @param {string} method @param {string} path @param {unknown} body @param {string | null} token
   * @returns {Promise<any>}
   */
  async #fetch(method, path, body, token) {
    /** @type {Record<string, string>} */
    const headers = {};
    if (token) headers.authorization = 'Bearer ' + token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await fetch(this.base + '/api/v1' + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (_) {
      throw new ApiError(0, 'unreachable', 'the server cannot be reached');
    }
    if (response.status === 204) return null;
    const answer = await response.json().catch(() => null);
    if (!response.ok) {
      const error = answer && answer.error;
      throw new ApiError(response.status, error?.code || 'internal', error?.message || response.statusText);
    }
    return answer;
  }
}
