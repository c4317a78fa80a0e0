// Bundles each entry point in frontend/ into static/dist/ so the site needs no outside host.
import { build } from "esbuild";

const entryPoints = {
  site: "frontend/site.js",
  payments: "frontend/payments.js",
  upload: "frontend/upload.js",
  review: "frontend/review.js",
  courses: "frontend/courses.js",
  transcript: "frontend/transcript.js",
  watch: "frontend/watch.js",
};

await build({
  entryPoints,
  bundle: true,
  minify: true,
  sourcemap: false,
  target: ["es2020"],
  outdir: "static/dist",
  loader: { ".css": "css" },
  logLevel: "warning",
});
