// End-to-end test of the real app: two instances (Alice, Bob) under Xvfb,
// each driven through tauri-driver + WebKitWebDriver, separate data dirs,
// loopback only. Screenshots of every screen go to target/e2e/.
//
//   node e2e/run.mjs <path to kith-app built with custom-protocol> <path to kith CLI>
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Session, button, sleep } from "./webdriver.mjs";

const axeSource = readFileSync(new URL("../node_modules/axe-core/axe.min.js", import.meta.url), "utf8");

const [app, cli] = process.argv.slice(2).map((p) => resolve(p));
const shots = resolve(process.env.KITH_E2E_SHOTS ?? "../target/e2e");
mkdirSync(shots, { recursive: true });
const root = mkdtempSync(join(tmpdir(), "kith-e2e-"));
const children = [];
const displays = [];
let failed = false;

function start(cmd, args, env) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] });
  children.push(child);
  return child;
}

function shot(display, name) {
  const file = join(shots, `${name}.png`);
  execFileSync("import", ["-display", display, "-window", "root", file]);
  console.log(`screenshot ${file}`);
}

/**
 * A private D-Bus session bus (the single-instance hand-over of deep links
 * uses it) with an unlocked GNOME Keyring on it (the Secret Service that
 * keeps the profile's root key), in a home folder of its own.
 */
async function sessionBus() {
  const path = join(root, "bus");
  start("dbus-daemon", ["--session", "--nofork", "--nopidfile", `--address=unix:path=${path}`], {});
  for (let i = 0; i < 50 && !existsSync(path); i++) await sleep(100);
  if (!existsSync(path)) throw new Error("dbus-daemon did not start");
  const address = `unix:path=${path}`;
  const home = join(root, "keyring-home");
  mkdirSync(join(home, "run"), { recursive: true, mode: 0o700 });
  const keyring = spawn("gnome-keyring-daemon", ["--foreground", "--unlock", "--components=secrets"], {
    env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address, HOME: home, XDG_DATA_HOME: join(home, "data"), XDG_RUNTIME_DIR: join(home, "run") },
    stdio: ["pipe", "ignore", "inherit"],
  });
  children.push(keyring);
  keyring.stdin.end("e2e keyring password");
  const owner = ["--session", "--print-reply", "--dest=org.freedesktop.DBus", "/", "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets"];
  for (let i = 0; i < 50; i++) {
    const reply = execFileSync("dbus-send", owner, { env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address }, encoding: "utf8" });
    if (/boolean true/.test(reply)) return address;
    await sleep(100);
  }
  throw new Error("gnome-keyring-daemon did not start");
}

/**
 * A stand-in desktop notification server on the bus at `address` (the
 * app's `fake-notifications` example, built next to it): it records what
 * the app asks it to show and clicks a notification when told.
 */
async function notificationServer(address) {
  const server = spawn(join(dirname(app), "examples", "fake-notifications"), [], {
    env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address },
    stdio: ["pipe", "pipe", "inherit"],
  });
  children.push(server);
  const shown = [];
  let buffered = "";
  server.stdout.on("data", (d) => {
    buffered += String(d);
    const lines = buffered.split("\n");
    buffered = lines.pop();
    for (const line of lines) if (line.trim()) shown.push(JSON.parse(line));
  });
  for (let i = 0; i < 50 && !shown.some((l) => l.ready); i++) await sleep(100);
  if (!shown.some((l) => l.ready)) throw new Error("the notification server did not start");
  return {
    /** Waits (bounded) for a notification whose body matches `re`. */
    async waitFor(re) {
      for (let i = 0; i < 100; i++) {
        const found = shown.findLast((l) => l.id && re.test(l.body));
        if (found) return found;
        await sleep(150);
      }
      throw new Error(`no notification matched ${re} (shown: ${JSON.stringify(shown)})`);
    },
    shown: () => shown.filter((l) => l.id),
    click: (id) => server.stdin.write(`click ${id}\n`),
  };
}

/** How a profile's root key is kept: the mode byte of its root-key file. */
function keptBy(name) {
  const mode = readFileSync(join(root, name, "root-key"))[8];
  return { 1: "passphrase", 2: "key file", 3: "keystore" }[mode] ?? `mode ${mode}`;
}

/**
 * Checks the screen `s` shows with axe-core (WCAG 2 A and AA: labels,
 * roles, contrast, keyboard): every violation fails the test, named.
 */
async function accessible(s, screen) {
  // Evaluated by WebDriver itself: the app's content security policy
  // rightly refuses inline scripts.
  if (!(await s.execute("return Boolean(window.axe);"))) await s.execute(`${axeSource}\nwindow.axe = axe; return true;`);
  const violations = await s.executeAsync(
    `const done = arguments[arguments.length - 1];
     window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] })
       .then((r) => done(r.violations.map((v) => v.id + ": " + v.nodes.map((n) => n.target.join(" ")).join(", "))))
       .catch((e) => done(["axe failed: " + e]));`,
  );
  if (violations.length > 0) throw new Error(`${screen}: accessibility violations:\n  ${violations.join("\n  ")}`);
  console.log(`axe: ${screen}: no violations`);
}

/**
 * Waits (bounded) until the element at `xpath` holds text matching `re`,
 * visible or not (WebDriver's text leaves out what an ellipsis or a line
 * clamp cuts).
 */
async function waitContent(s, xpath, re) {
  let seen = null;
  for (let i = 0; i < 100; i++) {
    seen = await s.execute(
      "const e = document.evaluate(arguments[0], document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue; return e ? e.textContent.replace(/\\s+/g, ' ').trim() : null;",
      [xpath],
    );
    if (seen !== null && re.test(seen)) return seen;
    await sleep(150);
  }
  throw new Error(`${xpath} never matched ${re} (last: ${JSON.stringify(seen)})`);
}

/** Puts `text` into the field `css` selects, as pasting does (an input event). */
async function paste(s, css, text) {
  await s.execute(
    `const e = document.querySelector(arguments[0]); e.focus(); e.value = arguments[1];
     e.dispatchEvent(new InputEvent("input", { bubbles: true, inputType: "insertFromPaste", data: arguments[1] }));`,
    [css, text],
  );
}

/** Waits (bounded) until the page is `width` CSS pixels wide. */
async function waitWidth(s, width) {
  for (let i = 0; i < 100; i++) {
    if ((await s.viewportWidth()) === width) return;
    await sleep(100);
  }
  throw new Error(`the window never became ${width} px wide (${await s.viewportWidth()})`);
}

/**
 * Fails when the page scrolls sideways, a visible control sticks out at a
 * side, or one of the `whole` elements (XPaths) is not entirely in the window.
 */
async function narrowFits(s, screen, whole = []) {
  const wide = await s.execute(
    `const w = document.documentElement.clientWidth, h = document.documentElement.clientHeight;
     const out = [...document.querySelectorAll("button, input, textarea, a, h1, h2")]
       .filter((e) => e.getClientRects().length > 0)
       .filter((e) => { const r = e.getBoundingClientRect(); return r.left < -1 || r.right > w + 1; })
       .map((e) => e.outerHTML.slice(0, 80));
     if (document.documentElement.scrollWidth > w + 1) out.unshift("the page scrolls sideways");
     for (const x of arguments[0]) {
       const e = document.evaluate(x, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
       const r = e && e.getBoundingClientRect();
       if (!r || r.top < 0 || r.bottom > h + 1 || r.left < 0 || r.right > w + 1) out.push(x + (r ? " is not all in the window (" + Math.round(r.top) + ".." + Math.round(r.bottom) + " of " + h + ")" : " is missing"));
     }
     return out;`,
    [whole],
  );
  if (wide.length > 0) throw new Error(`${screen}: does not fit:\n  ${wide.join("\n  ")}`);
}

/** The window's title (it carries the unread total). */
const title = (s) => s.execute("return document.title;");

/** Waits (bounded) until the window title matches `re`. */
async function waitTitle(s, re) {
  for (let i = 0; i < 100; i++) {
    if (re.test(await title(s))) return;
    await sleep(150);
  }
  throw new Error(`the title never matched ${re} (last: ${await title(s)})`);
}

/** Runs the kith CLI with JSON output; resolves with its parsed first line. */
function kith(args) {
  return JSON.parse(execFileSync(cli, ["--json", ...args], { encoding: "utf8" }).split("\n")[0]);
}

/** Waits (bounded) for a child process to exit; resolves with its code. */
function exited(child, timeoutMs) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error("the process did not exit")), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      ok(code);
    });
  });
}

function appEnv(display, name, n, extra) {
  return {
    DISPLAY: display,
    WEBKIT_DISABLE_COMPOSITING_MODE: "1",
    KITH_DATA_DIR: join(root, name),
    KITH_LOCAL: "1",
    KITH_LISTEN: `127.0.0.1:${47300 + n}`,
    ...extra,
  };
}

async function instance(name, n, extra = {}, args = []) {
  const display = `:${90 + n}`;
  displays.push(display);
  start("Xvfb", [display, "-screen", "0", "1100x760x24", "-nolisten", "tcp"], {});
  await sleep(800);
  const port = 4444 + 2 * n;
  const env = appEnv(display, name, n, extra);
  start("tauri-driver", ["--port", String(port), "--native-port", String(port + 1)], env);
  await sleep(1200);
  const session = await Session.start(port, app, args);
  return { session, display, env };
}

async function main() {
  // Alice's app has a session bus with a keyring (as on a desktop); Bob's
  // has none (the app must then start normally and keep a key file).
  // Her desktop shows notifications (a stand-in server on that bus).
  const aliceBus = await sessionBus();
  const notifications = await notificationServer(aliceBus);
  // And a webcam (WebKitGTK's mock camera).
  const alice = await instance("alice", 1, { DBUS_SESSION_BUS_ADDRESS: aliceBus, KITH_MOCK_CAMERA: "1" });
  // Bob's desktop prefers a dark theme: the app follows it.
  const bob = await instance("bob", 2, { DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(root, "no-bus")}`, GTK_THEME: "Adwaita:dark" });
  const A = alice.session;
  const B = bob.session;

  // Onboarding: both create accounts.
  await A.find(button("Create an account"));
  shot(alice.display, "01-onboarding");
  for (const [s, name] of [[A, "Alice"], [B, "Bob"]]) {
    await s.click(button("Create an account"));
    await s.type("//input[@placeholder='Alice']", name);
    await s.click(button("Create"));
    // Two short screens explain validation first.
    await s.waitText("//h2", /1 of 2 · Check that it is really them/);
    if (name === "Alice") shot(alice.display, "01a-first-run-validation");
    await s.click(button("Next"));
    await s.waitText("//h2", /2 of 2 · What the badges mean/);
    if (name === "Alice") {
      shot(alice.display, "01b-first-run-badges");
      await accessible(s, "first run");
    }
    await s.click(button("Got it"));
    await s.waitText("//h2", new RegExp(`Hello, ${name}`));
  }
  shot(alice.display, "02-home-empty");
  await accessible(A, "home (empty)");
  if (keptBy("alice") !== "keystore") throw new Error(`Alice's key: ${keptBy("alice")}, not the keystore`);
  if (keptBy("bob") !== "key file") throw new Error(`Bob's key: ${keptBy("bob")}, not a key file`);

  // Alice shares an invite; Bob pastes it.
  await A.click(button("Add contact"));
  await A.click(button("Create an invite link"));
  const invite = await A.waitText("//*[@data-testid='my-invite']", /^kith:/);
  shot(alice.display, "03-add-contact-invite");
  await B.click(button("Add contact"));
  await B.type("//input[@aria-label='Contact link']", invite);
  await B.type("//label[contains(., 'Name')]//input", "Alice");
  await B.click(button("Add"));
  await B.waitText("//section//h2", /Alice/);
  shot(bob.display, "04-bob-conversation-empty");

  // Messages both ways, in any script. Alice's home screen lists Bob's
  // first message as unread (and the window title counts it) until she
  // opens the conversation.
  // (WebKitWebDriver cannot type characters beyond the BMP, such as most
  // emoji: this text is pasted, as a person would paste it.)
  await paste(B, "textarea[aria-label='Message']", "Hello Alice, it is Bob 👋 — Привет, 你好, مرحبا");
  await B.click(button("Send"));
  await B.waitText("//*[@data-testid='message'][1]", /Hello Alice/);
  await A.waitText("//nav//*[@data-testid='conversation'][contains(., 'Bob')]//*[@data-testid='unread']", /^1( unread)?$/);
  // (Its visible text is cut with an ellipsis: the whole text is there.)
  await waitContent(A, "//nav//*[@data-testid='preview']", /^Hello Alice, it is Bob 👋 — Привет, 你好, مرحبا$/);
  await waitTitle(A, /^\(1\) Kith$/);
  shot(alice.display, "04b-home-unread");
  await A.click("//nav//button[contains(., 'Bob')]");
  await A.waitText("//*[@data-testid='message'][1]", /Hello Alice, it is Bob 👋 — Привет, 你好, مرحبا/);
  await waitTitle(A, /^Kith$/);
  await A.waitText("//*[@data-testid='day'][1]", /Today/);
  await A.type("//textarea[@aria-label='Message']", "Hi Bob! Got it. See https://example.org/kith");
  await A.click(button("Send"));
  await A.waitText("//*[@data-testid='message'][2]", /Hi Bob/);
  await A.find("//*[@data-testid='message'][2]//a[normalize-space()='https://example.org/kith']");
  await B.waitText("//*[@data-testid='message'][2]", /Hi Bob! Got it\./);
  await A.waitText("//*[@data-testid='message'][2]//*[@data-testid='delivery']", /delivered/);
  // Delivery per device, in words, on demand.
  await A.click("//*[@data-testid='message'][2]//*[@data-testid='delivery']");
  await A.waitText("//*[@data-testid='delivery-details']", /^delivered to Bob's computer$/);
  shot(alice.display, "05-alice-conversation");
  await accessible(A, "conversation");
  // Bob answers Alice's message, quoting it.
  await B.click("//*[@data-testid='message'][2]//button[normalize-space()='reply']");
  await B.waitText("//*[@data-testid='replying']", /Replying to Alice/);
  await B.type("//textarea[@aria-label='Message']", "Great, thanks!");
  await B.click(button("Send"));
  await waitContent(B, "//*[@data-testid='message'][3]//*[@data-testid='quote']", /^Alice Hi Bob! Got it/);
  await waitContent(A, "//*[@data-testid='message'][3]//*[@data-testid='quote']", /^You Hi Bob! Got it/);
  shot(bob.display, "06-bob-conversation");
  await accessible(B, "conversation (dark)");
  // A phone's width: the open conversation takes the whole window, with a
  // way back to the list; nothing is cut off or needs sideways scrolling.
  await B.resize(360, 720);
  await waitWidth(B, 360);
  await B.find("//button[normalize-space()='← Conversations']");
  await narrowFits(B, "conversation at 360 px", ["//textarea[@aria-label='Message']", button("Send"), "//button[normalize-space()='← Conversations']"]);
  shot(bob.display, "06a-bob-narrow-conversation");
  await B.click("//button[normalize-space()='← Conversations']");
  await B.find("//nav//button[contains(., 'Alice')]");
  await narrowFits(B, "list at 360 px", [button("Add contact"), button("Settings")]);
  shot(bob.display, "06a-bob-narrow-list");
  await accessible(B, "list at 360 px");
  await B.click("//nav//button[contains(., 'Alice')]");
  await B.resize(1100, 760);

  // Search from the keyboard (Ctrl+K), and a result opens the message.
  await A.keys("//textarea[@aria-label='Message']", "\uE009k\uE000");
  await A.type("//input[@aria-label='Search all conversations']", "got it");
  await waitContent(A, "//*[@data-testid='search-hit']", /Hi Bob! Got it/);
  shot(alice.display, "06b-search");
  await accessible(A, "search");
  await A.click("//*[@data-testid='search-hit']");
  await A.waitText("//li[contains(@class, 'highlighted')]", /Hi Bob! Got it/);

  // The security screen: what would make Alice's account safer.
  await A.click(button("Security"));
  await A.find(button("Compare with Bob"));
  await A.find(button("Set a passphrase"));
  shot(alice.display, "06c-security");
  await accessible(A, "security");

  // Validation by safety number (from the security screen's button): Alice
  // reads hers, Bob types it.
  await A.click(button("Compare with Bob"));
  const digits = (await A.waitText("//*[@data-testid='safety-number']", /\d{5}/)).replace(/\s/g, "");
  if (digits.length !== 60) throw new Error(`safety number has ${digits.length} digits`);
  shot(alice.display, "07-safety-number");
  await B.click(button("Safety number"));
  await B.type("//input[@aria-label='Their safety number']", digits);
  await B.click(button("Validate"));
  await B.waitText("//*[@role='status']", /Validated/);
  await B.waitText("//nav//*[@data-testid='trust-badge']", /^validated$/);
  shot(bob.display, "08-validated");

  // Alice validates Bob with her webcam pointed at his screen, which shows
  // his safety code for her. First the camera itself (the mock camera's
  // picture), then a stand-in camera that films Bob's code.
  await A.click(button("Scan their code"));
  await A.waitText("//*[@data-testid='camera']//*[@role='status']", /Hold the QR code/);
  shot(alice.display, "08a-camera");
  await accessible(A, "camera");
  await A.click(button("Stop the camera"));
  const bobCode = await B.execute(
    "return document.evaluate(arguments[0], document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue.src;",
    ["//img[starts-with(@alt, 'My safety code for Alice')]"],
  );
  const filming = await A.executeAsync(
    `const [src, done] = arguments;
     const image = new Image();
     image.onload = () => {
       const canvas = document.createElement("canvas");
       canvas.width = 640;
       canvas.height = 480;
       const g = canvas.getContext("2d");
       const draw = () => {
         g.fillStyle = "#7a7a7a"; g.fillRect(0, 0, 640, 480);
         g.fillStyle = "#fff"; g.fillRect(180, 80, 320, 320);
         g.drawImage(image, 200, 100, 280, 280);
       };
       draw();
       setInterval(draw, 100);
       const stream = canvas.captureStream(10);
       navigator.mediaDevices.getUserMedia = async () => stream;
       done(true);
     };
     image.onerror = () => done("the picture of Bob's code did not load");
     image.src = src;`,
    [bobCode],
  );
  if (filming !== true) throw new Error(String(filming));
  const scanning = Date.now();
  await A.click(button("Scan their code"));
  try {
    await A.waitText("//section/p[@role='status']", /Validated: their code matches/, 60000);
  } catch (e) {
    // Say what the screen showed instead (the camera's status, an error).
    const said = await A.execute(
      "return [...document.querySelectorAll('[role=status],[role=alert]')].map((e) => e.textContent).join(' | ');",
    ).catch(() => "");
    throw new Error(`${e.message}; the screen said: ${JSON.stringify(said)}`);
  }
  console.log(`camera scan: read and validated in ${Date.now() - scanning} ms`);
  await A.waitText("//section//h2//*[@data-testid='trust-badge']", /^validated$/);
  shot(alice.display, "08b-validated-by-camera");

  // A group: Bob creates one with Alice; both write, and the bubbles name
  // their authors; the group lists its members with their roles.
  await B.click(button("New group"));
  await B.type("//label[contains(., 'Name')]//input", "Weekend");
  await B.click("//label[contains(., 'Alice')]//input[@type='checkbox']");
  await B.waitFor("//label[contains(., 'Alice')]//input[@type='checkbox']", /^true$/, 10000, async (x) =>
    String(await B.cmd("GET", `/element/${await B.find(x)}/property/checked`)),
  );
  await B.execute("return new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));");
  shot(bob.display, "08c-new-group");
  await accessible(B, "new group");
  await B.click(button("Create group"));
  await B.waitText("//section//h2", /Weekend/);
  await B.waitText("//*[@data-testid='group-members']", /2 members/);
  await B.type("//textarea[@aria-label='Message']", "Group hello from Bob");
  await B.click(button("Send"));
  await B.waitText("//*[@data-testid='message'][1]", /Group hello from Bob/);
  await A.waitText("//nav//*[@data-testid='conversation'][contains(., 'Weekend')]//*[@data-testid='unread']", /^1( unread)?$/);
  await A.click("//nav//button[contains(., 'Weekend')]");
  await A.waitText("//*[@data-testid='message'][1]//*[@data-testid='author']", /^Bob$/);
  await A.type("//textarea[@aria-label='Message']", "On my way");
  await A.click(button("Send"));
  await B.waitText("//*[@data-testid='message'][2]//*[@data-testid='author']", /^Alice$/);
  shot(alice.display, "08d-group-conversation");
  await accessible(A, "group conversation");
  await B.click(button("Group info"));
  await B.waitText("//*[@data-testid='group-member'][contains(., 'Alice')]", /member/);
  await B.waitText("//*[@data-testid='group-member'][contains(., 'You')]", /admin/);
  shot(bob.display, "08e-group-info");
  await accessible(B, "group info");
  await A.click("//nav//button[contains(., 'Bob')]");
  await B.click("//nav//button[contains(., 'Alice')]");

  // A public room: Bob creates one and gets its link; Alice opens the link
  // from the system (a second launch hands it to her running app) and
  // joins with a click; Erin, a stranger on the CLI, joins by the link and
  // posts; Bob, the room's admin, removes her post for everyone.
  await B.click(button("New room"));
  await B.type("//label[contains(., 'Name')]//input", "Town square");
  await B.click(button("Create room"));
  const roomUri = await waitContent(B, "//*[@data-testid='room-link']", /^kith-room:/);
  shot(bob.display, "08f-new-room");
  await accessible(B, "new room");
  await B.click(button("Open the room"));
  await B.waitText("//*[@data-testid='room-notice']", /anyone with its link/);
  const opening = start(app, [roomUri], alice.env);
  if ((await exited(opening, 20000)) !== 0) throw new Error("the room link's launch failed");
  await A.waitValue("//input[@aria-label='Room link']", /^kith-room:/);
  await A.waitText("//*[@role='note']", /Opened from a link/);
  shot(alice.display, "08g-join-room-from-link");
  await accessible(A, "join room");
  await A.click(button("Join"));
  await A.waitText("//*[@data-testid='group-members']", /Public room · 2 members/, 60000);
  const erin = ["--local", "--listen", "127.0.0.1:47311", "--data-dir", join(root, "erin")];
  kith([...erin, "init", "--name", "Erin", "--device-name", "erin-cli"]);
  kith([...erin, "room", "join", roomUri]);
  kith([...erin, "send", "Town square", "Hello from Erin"]);
  const erinDaemon = spawn(cli, ["--json", ...erin, "daemon"], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(erinDaemon);
  const erinPost = "//*[@data-testid='message'][contains(., 'Hello from Erin')]";
  await A.click("//nav//button[contains(., 'Town square')]");
  await A.waitText(`${erinPost}//*[@data-testid='author']`, /^Erin$/, 60000);
  await B.waitText(`${erinPost}//*[@data-testid='author']`, /^Erin$/, 60000);
  shot(alice.display, "08h-room-conversation");
  await accessible(A, "room conversation");
  await B.execute("window.confirm = () => true; return true;");
  await B.click(`${erinPost}//button[normalize-space()='remove for everyone']`);
  for (let i = 0; ; i++) {
    const left = await A.execute(
      "return document.evaluate(arguments[0], document, null, XPathResult.NUMBER_TYPE, null).numberValue;",
      [`count(${erinPost})`],
    );
    if (left === 0) break;
    if (i > 300) throw new Error("Erin's post is still shown after its removal");
    await sleep(150);
  }
  await B.click(button("Room info"));
  await B.waitText("//*[@data-testid='group-member'][contains(., 'Erin')]", /member/);
  shot(bob.display, "08i-room-info");
  await accessible(B, "room info");
  await A.click("//nav//button[contains(., 'Bob')]");
  await B.click("//nav//button[contains(., 'Alice')]");

  // A second device for Alice (the CLI), linked from the app, then revoked.
  const linkDir = join(root, "alice-cli");
  const request = spawn(cli, ["--json", "--local", "--listen", "127.0.0.1:47309", "--data-dir", linkDir, "link", "request", "--device-name", "alice-cli", "--wait", "60"], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(request);
  const linkUri = await new Promise((ok, fail) => {
    request.stdout.once("data", (d) => ok(JSON.parse(String(d).split("\n")[0]).uri));
    request.once("exit", () => fail(new Error("link request exited early")));
  });
  await A.click(button("My devices"));
  await A.type("//input[@aria-label='Link code']", linkUri);
  await A.click(button("Link"));
  await A.waitText("//*[@data-testid='device'][contains(., 'alice-cli')]", /alice-cli/);
  shot(alice.display, "09-devices-linked");
  // The new device stores its profile only once the link request is done
  // (a daemon started earlier finds no profile): wait for it to exit.
  if ((await exited(request, 30000)) !== 0) throw new Error("the link request failed");
  // Alice's second device goes online (a daemon): a message Bob sends now
  // is unread on both; reading it there clears it in the app.
  const aliceCli = ["--local", "--listen", "127.0.0.1:47309", "--data-dir", linkDir];
  const cliDaemon = spawn(cli, ["--json", ...aliceCli, "daemon"], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(cliDaemon);
  const online = await new Promise((ok, fail) => {
    cliDaemon.stdout.once("data", (d) => ok(JSON.parse(String(d).split("\n")[0])));
    cliDaemon.once("exit", () => fail(new Error("alice-cli's daemon exited")));
  });
  if (online.error) throw new Error(`alice-cli's daemon: ${JSON.stringify(online.error)}`);
  await B.click("//nav//button[contains(., 'Alice')]");
  await B.type("//textarea[@aria-label='Message']", "Are you on your other device?");
  await B.click(button("Send"));
  await A.waitText("//nav//*[@data-testid='conversation'][contains(., 'Bob')]//*[@data-testid='unread']", /^1( unread)?$/);
  for (let i = 0; ; i++) {
    const list = kith(["--data-dir", linkDir, "conversations"]);
    if (list[0]?.unread === 1) break;
    if (i > 100) throw new Error(`alice-cli never counted the message: ${JSON.stringify(list)}`);
    await sleep(200);
  }
  // Read there (through its daemon): the push alone clears it in the app.
  kith(["--data-dir", linkDir, "read", "Bob"]);
  for (let i = 0; ; i++) {
    const badges = await A.execute("return document.querySelectorAll(\"nav [data-testid='unread']\").length;");
    if (badges === 0) break;
    if (i > 150) {
      const reach = kith(["--data-dir", linkDir, "sync", "--timeout", "5"]);
      const app = await A.executeAsync("const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke('conversations').then((l) => done(JSON.stringify(l.map((c) => [c.unread, c.last && c.last.text])))).catch((e) => done(String(e)));");
      console.error(`the app's own list: ${app}`);
      throw new Error(`reading on alice-cli did not clear the app's unread count (alice-cli reaches ${JSON.stringify(reach)}; its list: ${JSON.stringify(kith(["--data-dir", linkDir, "conversations"]))})`);
    }
    await sleep(200);
  }
  await waitTitle(A, /^Kith$/);
  shot(alice.display, "09a-read-on-the-other-device");
  // Bob's message was notified on Alice's desktop (she was on another
  // screen): who wrote, never what. Clicking it opens the conversation.
  const note = await notifications.waitFor(/^New message from Bob$/);
  if (note.app_name !== "Kith" || note.summary !== "Kith" || !note.actions.includes("default")) {
    throw new Error(`the notification: ${JSON.stringify(note)}`);
  }
  const leaked = notifications.shown().filter((l) => /other device|Hello Alice|Got it/.test(JSON.stringify(l)));
  if (leaked.length > 0) throw new Error(`a notification shows message text: ${JSON.stringify(leaked)}`);
  notifications.click(note.id);
  await A.waitText("//section//h2", /Bob/);
  await A.find("//textarea[@aria-label='Message']");
  shot(alice.display, "09c-notification-opened");
  await A.click(button("My devices"));
  // Bob validated Alice: her new device shows in his conversation with her.
  await B.click("//nav//button[contains(., 'Alice')]");
  await B.waitText("//*[@data-testid='new-devices']", /Alice has a new device since you validated them/);
  shot(bob.display, "09b-bob-sees-a-new-device");
  await B.click("//*[@data-testid='new-devices']//button[normalize-space()=\"It's theirs\"]");
  await B.waitText("//*[@data-testid='trust-badge']", /^validated$/);
  await A.click(button("Untrust…"));
  shot(alice.display, "10-untrust-confirm");
  await A.click("//button[starts-with(normalize-space(), 'Untrust alice-cli')]");
  await A.waitText("//*[@data-testid='device'][contains(., 'alice-cli')]", /revoked/);
  // It says by whom (and, had its revoker been removed at the same time, what to do).
  await A.waitText("//*[@data-testid='device'][contains(., 'alice-cli')]//*[@data-testid='device-note']", /removed by/);
  shot(alice.display, "11-devices-revoked");

  await A.click(button("Settings"));
  await A.waitText("//section//h2", /Settings/);
  shot(alice.display, "12-settings");
  await accessible(A, "settings");

  // App lock: on, lock, a wrong passphrase, the right one.
  await A.type("//label[starts-with(normalize-space(), 'Passphrase')]//input", "correct horse battery");
  await A.type("//label[contains(., 'Repeat it')]//input", "correct horse battery");
  await A.click(button("Turn on app lock"));
  await A.waitText("//*[@role='status']", /App lock is on/, 60000);
  if (keptBy("alice") !== "passphrase") throw new Error(`Alice's key: ${keptBy("alice")} after the app lock`);
  shot(alice.display, "13-app-lock-on");
  await A.click(button("Lock"));
  await A.waitText("//h1", /Kith is locked/);
  shot(alice.display, "14-locked");
  await A.type("//input[@type='password']", "wrong horse");
  await A.click(button("Unlock"));
  await A.waitText("//*[@role='alert']", /not the passphrase/, 60000);
  await A.type("//input[@type='password']", "correct horse battery");
  await A.click(button("Unlock"));
  await A.waitText("//h2", /Hello, Alice/, 60000);
  await A.find("//nav//button[contains(., 'Bob')]");

  // A kith: link opened while the app runs (a second launch with the link,
  // as a browser or file manager does) hands it to the running app, which
  // shows it in the add-contact form; adding stays a click.
  const carol = ["--local", "--listen", "127.0.0.1:47310", "--data-dir", join(root, "carol")];
  kith([...carol, "init", "--name", "Carol", "--device-name", "carol-cli"]);
  const daemon = spawn(cli, ["--json", ...carol, "daemon"], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(daemon);
  await new Promise((ok, fail) => {
    daemon.stdout.once("data", ok);
    daemon.once("exit", () => fail(new Error("carol's daemon exited")));
  });
  const carolInvite = kith(["--data-dir", join(root, "carol"), "invite"]).uri;
  const second = start(app, [carolInvite], alice.env);
  const code = await exited(second, 20000);
  if (code !== 0) throw new Error(`the second launch exited with ${code}`);
  await A.waitValue("//input[@aria-label='Contact link']", /^kith:/);
  await A.waitText("//*[@role='note']", /Opened from a link/);
  shot(alice.display, "15-deep-link");
  await A.click(button("Add"));
  await A.waitText("//section//h2", /Carol/);
  await A.find("//nav//button[contains(., 'Carol')]");

  // A kith: link that starts the app before its owner has an account (a
  // newcomer clicking an invite): it waits through onboarding, then fills
  // the add-contact form.
  const invite2 = kith(["--data-dir", join(root, "carol"), "invite"]).uri;
  const dave = await instance("dave", 3, { DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(root, "no-bus")}` }, [invite2]);
  const D = dave.session;
  await D.click(button("Create an account"));
  await D.type("//input[@placeholder='Alice']", "Dave");
  await D.click(button("Create"));
  await D.click(button("Next"));
  await D.click(button("Got it"));
  await D.waitValue("//input[@aria-label='Contact link']", /^kith:/);
  if ((await D.value("//input[@aria-label='Contact link']")) !== invite2) throw new Error("the form holds another link");
  shot(dave.display, "16-deep-link-cold-start");
  await D.click(button("Add"));
  await D.waitText("//section//h2", /Carol/);
  await D.stop();
  await A.stop();
  await B.stop();
  console.log("e2e: all steps passed");
}

try {
  await main();
} catch (e) {
  failed = true;
  console.error(`e2e FAILED: ${e.stack ?? e}`);
  // What each screen showed when it failed.
  for (const d of displays) {
    try {
      shot(d, `failed-display${d.replace(":", "")}`);
    } catch {}
  }
} finally {
  for (const c of children.reverse()) c.kill("SIGTERM");
  await sleep(500);
  rmSync(root, { recursive: true, force: true });
  process.exit(failed ? 1 : 0);
}
