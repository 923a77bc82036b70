// Parses every ```mermaid block of a Markdown file with the real Mermaid
// parser (mermaid 11 in node, with jsdom standing in for the browser DOM).
// Exit 1 when any diagram does not parse. Used by tests/reports.rs.
import { JSDOM } from 'jsdom';
import fs from 'fs';

const dom = new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;
globalThis.Element = dom.window.Element;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

let total = 0;
let bad = 0;
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, 'utf8');
  for (const m of text.matchAll(/```mermaid\n([\s\S]*?)```/g)) {
    total++;
    try {
      await mermaid.parse(m[1]);
    } catch (e) {
      bad++;
      console.log(`${file}: invalid diagram: ${String(e.message || e).split('\n').slice(0, 3).join(' ')}`);
    }
  }
}
console.log(`parsed ${total} diagrams, ${bad} invalid`);
process.exit(bad ? 1 : 0);
