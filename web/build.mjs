// npm run build -> dist/shop-assistant.js: one minified IIFE, CSS included as text
// (injected into the widget's Shadow DOM). Same sources give the same bytes.
import { build, transform } from "esbuild";
import { readFile, mkdir, rm } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const outfile = path.join(here, "dist", "shop-assistant.js");

/** Imports of .css files become their minified text. */
const cssText = {
  name: "css-text",
  setup(b) {
    b.onLoad({ filter: /\.css$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const { code } = await transform(source, { loader: "css", minify: true, target: ["chrome91", "firefox90", "safari15"] });
      return { contents: code.trim(), loader: "text" };
    });
  },
};

await rm(path.join(here, "dist"), { recursive: true, force: true });
await mkdir(path.join(here, "dist"), { recursive: true });

await build({
  absWorkingDir: here,
  entryPoints: ["src/index.js"],
  outfile,
  bundle: true,
  minify: true,
  format: "iife",
  platform: "browser",
  target: ["es2020", "chrome91", "firefox90", "safari15"],
  charset: "ascii", // works even when the shop serves it without a charset
  legalComments: "eof",
  sourcemap: false,
  metafile: false,
  define: { "process.env.NODE_ENV": '"production"' },
  plugins: [cssText],
  logLevel: "warning",
});

const bytes = await readFile(outfile);
const gzip = gzipSync(bytes, { level: 9 }).length;
console.log(`dist/shop-assistant.js: ${bytes.length} bytes (${(bytes.length / 1024).toFixed(1)} KiB), gzip ${gzip} bytes (${(gzip / 1024).toFixed(1)} KiB)`);

// The staff console's front end (apps/console serves it at /assets/console.js): a
// second, independent entry; the widget's file above does not change with it.
const consoleFile = path.join(here, "dist", "console.js");
await build({
  absWorkingDir: here,
  entryPoints: ["console/index.js"],
  outfile: consoleFile,
  bundle: true,
  minify: true,
  format: "iife",
  platform: "browser",
  target: ["es2020", "chrome91", "firefox90", "safari15"],
  charset: "ascii",
  legalComments: "eof",
  sourcemap: false,
  logLevel: "warning",
});
const consoleBytes = await readFile(consoleFile);
console.log(`dist/console.js: ${consoleBytes.length} bytes (${(consoleBytes.length / 1024).toFixed(1)} KiB), gzip ${gzipSync(consoleBytes, { level: 9 }).length} bytes`);
