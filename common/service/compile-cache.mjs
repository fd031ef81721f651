// Loaded first (`node --import`) by every service: Node keeps the JavaScript it strips from each TypeScript file, and
// the bytecode it compiles, in .cache/node-compile/, so a service that starts again neither loads the type stripper
// (and its memory) nor strips and compiles anew. Plain JavaScript: a .ts file here would load the
// type stripper before the cache could spare it. Where the folder cannot be written, Node runs without the cache.
import module from 'node:module';

module.enableCompileCache(new URL('../../.cache/node-compile/', import.meta.url).pathname);
