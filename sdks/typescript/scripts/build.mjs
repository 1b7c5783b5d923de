// Builds the package: src/version.ts from package.json, then tsc twice, ESM into dist/esm and
// CommonJS into dist/cjs, each folder marked with its module type, then the CLI into dist/cli.
// Node's built-ins only.
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const versionFile = join(root, "src", "version.ts");
const versionSource = `// Written by scripts/build.mjs from package.json's "version": do not edit.\nexport const VERSION = ${JSON.stringify(version)};\n`;
if (readFileSync(versionFile, "utf8") !== versionSource) writeFileSync(versionFile, versionSource);

const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
for (const [config, folder, type] of [
  ["tsconfig.esm.json", "esm", "module"],
  ["tsconfig.cjs.json", "cjs", "commonjs"],
]) {
  rmSync(join(root, "dist", folder), { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, "-p", join(root, config)], { stdio: "inherit" });
  writeFileSync(join(root, "dist", folder, "package.json"), JSON.stringify({ type }) + "\n");
}

// The `listen` command (package.json "bin"): Node-only, so outside src/ and its `types: []` builds. It
// imports the package by its own name, which resolves to dist/cjs built above.
rmSync(join(root, "dist", "cli"), { recursive: true, force: true });
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.cli.json")], { stdio: "inherit" });
