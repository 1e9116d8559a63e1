// A person pays in headless Chromium: opens the payment page (argv[2], a redirect_url),
// presses "Open the page" then "Pay", and reports as one JSON line on stdout what the browser
// saw: the status after each press, the URL it landed on and that page's heading. With
// SCREENSHOTS=DIR, also leaves DIR/pay-*.png and, given a run page URL (argv[3]), DIR/run.png.
//
// Run by tests/browser.rs with NODE_PATH=target/browser-deps/node_modules (scripts/
// browser-deps.sh installs playwright-core there); launches /usr/bin/chromium (CHROMIUM to
// override), never a downloaded browser. Loopback only: it opens the URLs it is given.
"use strict";
const { chromium } = require("playwright-core");

async function main() {
  const [payUrl, runUrl] = process.argv.slice(2);
  const shots = process.env.SCREENSHOTS;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--no-proxy-server",
    ],
    timeout: 60000,
  });
  const seen = { statuses: [] };
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 820 } });
    page.setDefaultTimeout(20000);
    const shot = async (name) => {
      if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
    };
    const status = async () => (await page.textContent("#status")).trim();

    const opened = await page.goto(payUrl);
    seen.first_code = opened.status();
    seen.statuses.push(await status());
    await shot("pay-waiting");

    await Promise.all([page.waitForURL(payUrl), page.click("#do-EnterPage")]);
    seen.statuses.push(await status());
    seen.buttons = await page.$$eval(".actions button", (all) => all.map((b) => b.id));
    await shot("pay-in-progress");

    await Promise.all([
      page.waitForURL((url) => url.href !== payUrl),
      page.click("#do-Authorize"),
    ]);
    await page.waitForLoadState("load");
    seen.landed = page.url();
    seen.heading = (await page.textContent("h1")).trim();

    await page.goto(payUrl);
    seen.statuses.push(await status());
    await shot("pay-completed");

    if (runUrl && shots) {
      await page.goto(runUrl);
      await shot("run");
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(seen) + "\n");
}

main().catch((error) => {
  process.stderr.write(`pay.cjs: ${error.stack || error}\n`);
  process.exit(1);
});
