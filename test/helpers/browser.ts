/**
 * Headless Chromium for end-to-end tests of the console: Debian's `chromium` driven by
 * playwright-core, pages that record every console error, uncaught exception and failed
 * request, and screenshots checked for emptiness.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { PNG } from 'pngjs';

/** Git-ignored; the test's screenshots stay here for a reader to look at. */
export const screenshotDir = fileURLToPath(new URL('../../test-results/console/', import.meta.url));

export function launchChromium(): Promise<Browser> {
  // --no-sandbox: tests run as root in CI containers, where Chromium's sandbox cannot start.
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
}

export interface WatchedPage {
  page: Page;
  /** Console errors, page errors, failed requests and 4xx/5xx answers, in order. */
  problems: string[];
  close: () => Promise<void>;
}

/** A page in a context of its own (its own sessionStorage), watched for problems. */
export async function watchedPage(browser: Browser, viewport = { width: 1440, height: 900 }): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.method()} ${req.url()} ${req.failure()?.errorText ?? ''}`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.request().method()} ${res.url()}`);
  });
  return { page, problems, close: () => context.close() };
}

export interface PixelReport {
  width: number;
  height: number;
  /** Distinct colours, each channel reduced to 5 bits. */
  colours: number;
  /** Share of pixels that differ from the most common colour (the background). */
  foreground: number;
}

/** What a PNG holds: a blank or single-colour image has few colours and no foreground. */
export function pixelReport(png: Buffer): PixelReport {
  const image = PNG.sync.read(png);
  const counts = new Map<number, number>();
  for (let i = 0; i < image.data.length; i += 4) {
    const key = ((image.data[i]! >> 3) << 10) | ((image.data[i + 1]! >> 3) << 5) | (image.data[i + 2]! >> 3);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const pixels = image.width * image.height;
  const background = Math.max(...counts.values());
  return { width: image.width, height: image.height, colours: counts.size, foreground: (pixels - background) / pixels };
}

/** Takes a full-page screenshot into `screenshotDir` and reports its pixels. */
export async function screenshot(page: Page, name: string): Promise<PixelReport & { path: string }> {
  await mkdir(screenshotDir, { recursive: true });
  const png = await page.screenshot({ fullPage: true });
  const path = `${screenshotDir}${name}.png`;
  await writeFile(path, png);
  return { ...pixelReport(png), path };
}

/** What the pixel count needs of a canvas (the tests compile without the DOM's types). */
interface Canvas {
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}

/** Pixels each matching canvas has drawn (alpha above zero), read in the page. */
export function drawnPixels(page: Page, selector: string): Promise<number[]> {
  return page.$$eval(selector, (canvases) =>
    (canvases as unknown as Canvas[]).map((c) => {
      const ctx = c.getContext('2d');
      if (!ctx || c.width === 0 || c.height === 0) return 0;
      const data = ctx.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
      return n;
    }),
  );
}
