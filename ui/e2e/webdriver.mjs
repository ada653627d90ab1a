// A minimal W3C WebDriver client over fetch (Node 20): just what the
// end-to-end test needs, with bounded waits.

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async start(port, application, args = []) {
    const base = `http://127.0.0.1:${port}`;
    const body = { capabilities: { alwaysMatch: { "tauri:options": { application, args } } } };
    const r = await request("POST", `${base}/session`, body);
    return new Session(base, r.sessionId);
  }

  cmd(method, path, body) {
    return request(method, `${this.base}/session/${this.id}${path}`, body);
  }

  async find(xpath, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    while (Date.now() < deadline) {
      try {
        const r = await this.cmd("POST", "/element", { using: "xpath", value: xpath });
        return Object.values(r)[0];
      } catch (e) {
        last = e;
      }
      await sleep(100);
    }
    throw new Error(`no element ${xpath} within ${timeoutMs} ms (${last})`);
  }

  async click(xpath) {
    const el = await this.find(xpath);
    await this.cmd("POST", `/element/${el}/click`, {});
  }

  async type(xpath, text) {
    const el = await this.find(xpath);
    await this.cmd("POST", `/element/${el}/clear`, {});
    await this.cmd("POST", `/element/${el}/value`, { text });
  }

  async text(xpath) {
    const el = await this.find(xpath);
    return this.cmd("GET", `/element/${el}/text`);
  }

  async value(xpath) {
    const el = await this.find(xpath);
    return this.cmd("GET", `/element/${el}/property/value`);
  }

  /** Waits until the element at `xpath` has text matching `re`. */
  async waitText(xpath, re, timeoutMs = 30000) {
    return this.waitFor(xpath, re, timeoutMs, (x) => this.text(x));
  }

  /** Waits until the input at `xpath` holds a value matching `re`. */
  async waitValue(xpath, re, timeoutMs = 30000) {
    return this.waitFor(xpath, re, timeoutMs, (x) => this.value(x));
  }

  async waitFor(xpath, re, timeoutMs, read) {
    const deadline = Date.now() + timeoutMs;
    let seen = "";
    while (Date.now() < deadline) {
      try {
        seen = await read(xpath);
        if (re.test(seen)) return seen;
      } catch {}
      await sleep(150);
    }
    throw new Error(`${xpath} never matched ${re} (last: ${JSON.stringify(seen)})`);
  }

  /** Runs `script` (a function body) in the page; resolves with its value. */
  execute(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  /** Runs an async `script`: it calls `arguments[arguments.length - 1]` with the result. */
  executeAsync(script, args = []) {
    return this.cmd("POST", "/execute/async", { script, args });
  }

  /** Sends keys (W3C key codes, e.g. "\uE009k" for Ctrl+K) to the element at `xpath`. */
  async keys(xpath, text) {
    const el = await this.find(xpath);
    await this.cmd("POST", `/element/${el}/value`, { text });
  }

  /** The window's size in CSS pixels (as a person resizes it). */
  resize(width, height) {
    return this.cmd("POST", "/window/rect", { width, height });
  }

  /** The viewport's width as the page sees it. */
  viewportWidth() {
    return this.execute("return window.innerWidth;");
  }

  async stop() {
    try {
      await request("DELETE", `${this.base}/session/${this.id}`);
    } catch {}
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function request(method, url, body) {
  const r = await fetch(url, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60000),
  });
  const json = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(json.value ?? json)}`);
  return json.value;
}

/** An XPath for a button with exactly this text. */
export const button = (label) => `//button[normalize-space()=${JSON.stringify(label)}]`;
