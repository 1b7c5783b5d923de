// Written by scripts/build.mjs from package.json's "version": do not edit.
export const VERSION = "0.2.0";
