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
  /**
   * @param {number} status @param {string} code @param {string} message
   * @param {Record<string, any>} [details] the error's other fields (`tenants` of `choose_tenant`)
   */
  constructor(status, code, message, details = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

const KEPT = 'kefu.console.session';

export class Api {
  /** @type {string} */ base;
  /** @type {string | null} */ #access = null;
  /** When the access token expires, in ms since the epoch. */ #expiresAt = 0;
  /** @type {Promise<string> | null} */ #refreshing = null;
  /** A password change under way. @type {Promise<void>} */ #changing = Promise.resolve();
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
   * Logs in; nothing is kept when it fails. `tenant` picks the organisation when the email and
   * password open accounts in several (the server answers `choose_tenant` with them).
   * @param {string} email @param {string} password @param {string} [tenant] @returns {Promise<Agent>}
   */
  async login(email, password, tenant) {
    /** @type {{tokens: Tokens, agent: Agent}} */
    const answer = await this.#fetch('POST', '/auth/login', { email, password, tenant }, null);
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

  /**
   * Changes the password; the answer is a new token pair (the other sessions end).
   * @param {string} current @param {string} next
   */
  changePassword(current, next) {
    const changing = (async () => {
      const body = { current_password: current, new_password: next };
      /** @type {Tokens} */
      const tokens = await this.#fetch('POST', '/me/password', body, await this.accessToken());
      this.#take(tokens);
      const kept = this.kept;
      if (kept) this.kept = { ...kept, refresh_token: tokens.refresh_token };
    })();
    // The change ends every session, this one's sockets too: their refresh waits for the new tokens.
    this.#changing = changing.catch(() => {});
    return changing;
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
        await this.#changing;
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
   * @param {'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'} method @param {string} path under /api/v1
   * @param {unknown} [body]
   */
  request(method, path, body) {
    return this.#asAgent((token) => this.#fetch(method, path, body, token));
  }

  /**
   * Uploads a file's bytes (`POST /files?…`); answers what the server said.
   * @param {string} path @param {Blob} file
   */
  upload(path, file) {
    return this.#asAgent((token) => this.#fetch('POST', path, file, token));
  }

  /**
   * A file's bytes, as the agent may see them.
   * @param {string} path @returns {Promise<Blob>}
   */
  blob(path) {
    return this.#asAgent((token) => this.#fetch('GET', path, undefined, token, true));
  }

  /**
   * @template T
   * @param {(token: string) => Promise<T>} call
   */
  async #asAgent(call) {
    try {
      return await call(await this.accessToken());
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      return call(await this.refresh());
    }
  }

  /**
   * @param {string} method @param {string} path @param {unknown} body JSON, or a Blob sent as is
   * @param {string | null} token @param {boolean} [asBlob] answer the bytes
   * @returns {Promise<any>}
   */
  async #fetch(method, path, body, token, asBlob = false) {
    /** @type {Record<string, string>} */
    const headers = {};
    if (token) headers.authorization = 'Bearer ' + token;
    const raw = body instanceof Blob;
    if (body !== undefined && !raw) headers['content-type'] = 'application/json';
    let response;
    try {
      response = await fetch(this.base + '/api/v1' + path, {
        method,
        headers,
        body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
      });
    } catch (_) {
      throw new ApiError(0, 'unreachable', 'the server cannot be reached');
    }
    if (response.ok && asBlob) return response.blob();
    if (response.status === 204) return null;
    const answer = await response.json().catch(() => null);
    if (!response.ok) {
      const error = answer && answer.error;
      throw new ApiError(response.status, error?.code || 'internal', error?.message || response.statusText, error || {});
    }
    return answer;
  }
}
