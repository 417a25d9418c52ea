#!/usr/bin/env node
// Builds the Czech documentation (DOC-1): every docs/cs/*.md becomes target/docs/<name>.pdf.
// Each document is rendered to HTML with `marked` (a title page with the document's name,
// "Linka" and the date, a table of contents from the ## and ### headings, numbered sections,
// a small A4 print stylesheet, lang="cs") and printed to PDF by the Chromium the browser tests
// use (playwright-core, Debian's /usr/bin/chromium or CHROMIUM_PATH), with page numbers in the
// footer. The HTML is kept beside the PDF (target/docs/<name>.html) for a quick look.
//
// Usage: node scripts/build-docs.mjs [--check] [name…]   (npm run docs [-- --check])
//   --check  also verifies that every relative link resolves (a file in the repository, or an
//            #anchor of a heading in the document it points to); images are always verified.
//   name…    only the documents whose file names contain one of the words.
// Environment: CHROMIUM_PATH; SOURCE_DATE_EPOCH (seconds) fixes the date on the title pages.
// Exits non-zero, naming the document and the reason, when any document fails to build or a
// PDF is empty or not a PDF.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Marked } from "marked";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../e2e/helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, "..", "..");
const SOURCE = join(ROOT, "docs", "cs");
const OUT = join(ROOT, "target", "docs");

const args = process.argv.slice(2);
const CHECK = args.includes("--check");
const ONLY = args.filter((arg) => !arg.startsWith("--"));

class DocError extends Error {}

/** Lower case, no diacritics, words joined by "-": the id of a heading. */
export function slug(text) {
  return (
    text
      .normalize("NFD")
      .replace(/\p{M}/gu, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "") || "oddil"
  );
}

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

/** The plain text of inline tokens (for ids, the table of contents and the title). */
function plain(tokens) {
  return (tokens ?? [])
    .map((token) => (token.tokens ? plain(token.tokens) : token.type === "image" ? token.text : (token.text ?? token.raw ?? "")))
    .join("")
    .replace(/\s+/g, " ")
    .trim();
}

function czechDate(date) {
  return new Intl.DateTimeFormat("cs-CZ", { day: "numeric", month: "numeric", year: "numeric", timeZone: "Europe/Prague" }).format(date);
}

function isExternal(href) {
  return /^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith("//");
}

/**
 * The document's headings with section numbers and unique ids, in order: the one level-1
 * heading is the title; ## are numbered 1, 2, …; ### 1.1, 1.2, …
 */
function outline(tokens, file) {
  const headings = [];
  const used = new Set();
  let title = null;
  let h2 = 0;
  let h3 = 0;
  for (const token of tokens) {
    if (token.type !== "heading") continue;
    const text = plain(token.tokens);
    if (token.depth === 1) {
      if (title !== null) throw new DocError(`${file}: more than one level-1 heading (# ${text})`);
      title = text;
      continue;
    }
    let number = null;
    if (token.depth === 2) {
      h2 += 1;
      h3 = 0;
      number = `${h2}`;
    } else if (token.depth === 3) {
      h3 += 1;
      number = `${h2}.${h3}`;
    }
    let id = slug(text);
    for (let n = 2; used.has(id); n += 1) id = `${slug(text)}-${n}`;
    used.add(id);
    headings.push({ token, depth: token.depth, text, id, number });
  }
  if (title === null) throw new DocError(`${file}: the document has no level-1 heading (its title)`);
  if (headings.length === 0) throw new DocError(`${file}: the document has no sections (## headings)`);
  return { title, headings };
}

/** Checks the relative links (with --check) and images of a document; returns the problems. */
function checkReferences(tokens, file, ids, idsOf) {
  const problems = [];
  const visit = (list) => {
    for (const token of list ?? []) {
      if (token.type === "image" || (CHECK && token.type === "link")) {
        const href = token.href ?? "";
        if (!href || isExternal(href)) {
          if (token.type === "image" && href && !href.startsWith("data:")) problems.push(`image ${href}: only images from the repository are allowed`);
        } else {
          const [path, anchor] = href.split("#", 2);
          const target = path ? resolve(SOURCE, decodeURI(path)) : join(SOURCE, file);
          if (path && !existsSync(target)) {
            problems.push(`${token.type === "image" ? "image" : "link"} ${href}: ${relative(ROOT, target)} does not exist`);
          } else if (anchor) {
            const targetIds = path ? idsOf(target) : ids;
            if (targetIds && !targetIds.has(anchor)) problems.push(`link ${href}: no heading with the id #${anchor}`);
          }
        }
      }
      if (token.tokens) visit(token.tokens);
      if (token.items) visit(token.items);
      if (token.type === "table") {
        for (const cell of token.header ?? []) visit(cell.tokens);
        for (const row of token.rows ?? []) for (const cell of row) visit(cell.tokens);
      }
    }
  };
  visit(tokens);
  return problems;
}

const STYLE = `
@page { size: A4; margin: 20mm 18mm 22mm 20mm; }
html { font-family: "Liberation Sans", "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; line-height: 1.45; color: #1a1a1a; }
body { margin: 0; hyphens: auto; -webkit-hyphens: auto; orphans: 3; widows: 3; }
p, li, td { overflow-wrap: break-word; }
h1, h2, h3, h4 { font-weight: 700; line-height: 1.25; break-after: avoid; page-break-after: avoid; hyphens: manual; color: #0b3d62; }
h2 { font-size: 16pt; margin: 0 0 8pt; padding-bottom: 3pt; border-bottom: 1.5pt solid #0b3d62; break-before: page; page-break-before: always; }
h3 { font-size: 12.5pt; margin: 16pt 0 6pt; }
h4 { font-size: 11pt; margin: 12pt 0 4pt; color: #1a1a1a; }
.num { color: #5a7a94; margin-right: 0.45em; font-weight: 600; }
p { margin: 0 0 7pt; }
ul, ol { margin: 0 0 8pt; padding-left: 18pt; }
li { margin: 1.5pt 0; }
li > p { margin: 0 0 3pt; }
code { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 0.88em; background: #f1f3f5; padding: 0 2pt; border-radius: 2pt; hyphens: none; }
pre { background: #f1f3f5; padding: 6pt 8pt; border-radius: 3pt; white-space: pre-wrap; break-inside: avoid; font-size: 9pt; }
pre code { background: none; padding: 0; }
table { border-collapse: collapse; width: 100%; margin: 4pt 0 10pt; font-size: 9.5pt; break-inside: auto; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 0.6pt solid #b8c4ce; padding: 3pt 5pt; text-align: left; vertical-align: top; }
th { background: #e8eef3; }
blockquote { margin: 8pt 0; padding: 5pt 9pt; border-left: 3pt solid #2f7dbd; background: #eef5fb; break-inside: avoid; }
blockquote p:last-child { margin-bottom: 0; }
figure { margin: 8pt 0 12pt; text-align: center; break-inside: avoid; page-break-inside: avoid; }
figure img { max-width: 100%; max-height: 150mm; border: 0.6pt solid #b8c4ce; }
figcaption { font-size: 9pt; color: #555; margin-top: 3pt; }
p > img { max-width: 100%; }
a { color: #0b5a94; text-decoration: none; }
strong { font-weight: 700; }
kbd { font-family: inherit; font-size: 0.9em; border: 0.6pt solid #888; border-radius: 2pt; padding: 0 2pt; background: #fafafa; }

.title-page { height: 247mm; display: flex; flex-direction: column; justify-content: space-between; break-after: page; page-break-after: always; }
.title-page .brand { font-size: 30pt; font-weight: 700; color: #0b3d62; letter-spacing: 0.5pt; margin-top: 40mm; }
.title-page .tagline { font-size: 13pt; color: #5a7a94; margin-top: 2mm; }
.title-page h1 { font-size: 26pt; margin: 18mm 0 0; border: none; color: #1a1a1a; }
.title-page .meta { font-size: 10.5pt; color: #444; border-top: 1.5pt solid #0b3d62; padding-top: 4mm; }
nav.toc h2 { break-before: auto; page-break-before: auto; }
nav.toc ol { list-style: none; padding-left: 0; margin: 0; }
nav.toc li { margin: 2.5pt 0; }
nav.toc li.d2 { font-weight: 600; margin-top: 6pt; }
nav.toc li.d3 { padding-left: 16pt; font-weight: 400; }
nav.toc .num { display: inline-block; min-width: 2.6em; }
`;

function buildHtml(file, markdown, idsOf, date) {
  const marked = new Marked({ gfm: true });
  const tokens = marked.lexer(markdown);
  const { title, headings } = outline(tokens, file);
  const byToken = new Map(headings.map((heading) => [heading.token, heading]));
  const ids = new Set(headings.map((heading) => heading.id));
  const problems = checkReferences(tokens, file, ids, idsOf);
  if (problems.length) throw new DocError(`${file}:\n  - ${problems.join("\n  - ")}`);

  marked.use({
    renderer: {
      heading(token) {
        if (token.depth === 1) return "";
        const heading = byToken.get(token);
        const inner = this.parser.parseInline(token.tokens);
        const number = heading?.number ? `<span class="num">${heading.number}</span>` : "";
        return `<h${token.depth} id="${heading?.id ?? slug(token.text)}">${number}${inner}</h${token.depth}>\n`;
      },
      link(token) {
        let href = token.href ?? "";
        // A link to another Czech document points at its PDF (they lie side by side).
        if (!isExternal(href) && /^[^/#]+\.md(#|$)/.test(href)) href = href.replace(/\.md(?=#|$)/, ".pdf");
        const titleAttr = token.title ? ` title="${escapeHtml(token.title)}"` : "";
        return `<a href="${escapeHtml(href)}"${titleAttr}>${this.parser.parseInline(token.tokens)}</a>`;
      },
      image(token) {
        const src = isExternal(token.href) ? token.href : pathToFileURL(resolve(SOURCE, decodeURI(token.href))).href;
        const caption = token.title || token.text;
        return `<figure><img src="${escapeHtml(src)}" alt="${escapeHtml(token.text)}">${caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : ""}</figure>`;
      },
      paragraph(token) {
        // An image alone in its paragraph is a figure (no <p> around a block).
        if (token.tokens?.length === 1 && token.tokens[0].type === "image") return this.parser.parseInline(token.tokens);
        return `<p>${this.parser.parseInline(token.tokens)}</p>\n`;
      },
    },
  });
  const body = marked.parser(tokens);
  const toc = headings
    .filter((heading) => heading.depth <= 3)
    .map((heading) => `<li class="d${heading.depth}"><a href="#${heading.id}"><span class="num">${heading.number ?? ""}</span>${escapeHtml(heading.text)}</a></li>`)
    .join("\n");
  return {
    title,
    html: `<!doctype html>
<html lang="cs">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)} — Linka</title>
<style>${STYLE}</style>
</head>
<body>
<section class="title-page">
  <div>
    <div class="brand">Linka</div>
    <div class="tagline">Kontaktní centrum</div>
    <h1>${escapeHtml(title)}</h1>
  </div>
  <div class="meta">Linka — ${escapeHtml(title)}<br>Stav k ${escapeHtml(date)}</div>
</section>
<nav class="toc" aria-label="Obsah">
<h2 id="obsah">Obsah</h2>
<ol>
${toc}
</ol>
</nav>
<main>
${body}
</main>
</body>
</html>
`,
  };
}

function footer(title) {
  return `<div style="font-family: 'Liberation Sans', 'DejaVu Sans', sans-serif; font-size: 8pt; color: #555; width: 100%; margin: 0 18mm 0 20mm; display: flex; justify-content: space-between;">
  <span>Linka — ${escapeHtml(title)}</span><span>strana <span class="pageNumber"></span> z <span class="totalPages"></span></span></div>`;
}

/** The page count a PDF declares (the largest /Count of its page tree), or null. */
function pageCount(pdf) {
  const text = pdf.toString("latin1");
  let best = null;
  for (const match of text.matchAll(/\/Type\s*\/Pages\b[^>]*?\/Count\s+(\d+)|\/Count\s+(\d+)[^>]*?\/Type\s*\/Pages\b/g)) {
    const count = Number(match[1] ?? match[2]);
    if (best === null || count > best) best = count;
  }
  return best;
}

async function main() {
  const started = Date.now();
  if (!existsSync(SOURCE)) throw new DocError(`${relative(ROOT, SOURCE)} does not exist`);
  const files = readdirSync(SOURCE)
    .filter((name) => name.endsWith(".md"))
    .filter((name) => ONLY.length === 0 || ONLY.some((word) => name.includes(word)))
    .sort();
  if (files.length === 0) throw new DocError(`no documents to build in ${relative(ROOT, SOURCE)}${ONLY.length ? ` matching ${ONLY.join(", ")}` : ""}`);
  if (!existsSync(CHROMIUM)) throw new DocError(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  mkdirSync(OUT, { recursive: true });

  const epoch = Number(process.env.SOURCE_DATE_EPOCH);
  const date = czechDate(Number.isFinite(epoch) && epoch > 0 ? new Date(epoch * 1000) : new Date());
  const idCache = new Map();
  const idsOf = (path) => {
    if (!path.endsWith(".md") || !path.startsWith(SOURCE)) return null;
    if (!idCache.has(path)) {
      try {
        idCache.set(path, new Set(outline(new Marked({ gfm: true }).lexer(readFileSync(path, "utf8")), relative(SOURCE, path)).headings.map((h) => h.id)));
      } catch {
        idCache.set(path, new Set());
      }
    }
    return idCache.get(path);
  };

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const failures = [];
  const built = [];
  try {
    for (const file of files) {
      const name = file.replace(/\.md$/, "");
      const pdfPath = join(OUT, `${name}.pdf`);
      const htmlPath = join(OUT, `${name}.html`);
      const t0 = Date.now();
      try {
        const { title, html } = buildHtml(file, readFileSync(join(SOURCE, file), "utf8"), idsOf, date);
        writeFileSync(htmlPath, html);
        const context = await browser.newContext({ locale: "cs-CZ", timezoneId: "Europe/Prague" });
        try {
          const page = await context.newPage();
          const failed = [];
          page.on("requestfailed", (request) => failed.push(request.url()));
          await page.goto(pathToFileURL(htmlPath).href, { waitUntil: "load" });
          const broken = await page.evaluate(() => [...document.images].filter((img) => !img.complete || img.naturalWidth === 0).map((img) => img.getAttribute("src")));
          if (broken.length || failed.length) throw new DocError(`${file}: could not load ${[...new Set([...broken, ...failed])].join(", ")}`);
          await page.pdf({
            path: pdfPath,
            format: "A4",
            printBackground: true,
            preferCSSPageSize: true,
            displayHeaderFooter: true,
            headerTemplate: "<span></span>",
            footerTemplate: footer(title),
            outline: true,
            tagged: true,
          });
        } finally {
          await context.close();
        }
        const pdf = readFileSync(pdfPath);
        if (pdf.length === 0) throw new DocError(`${file}: ${relative(ROOT, pdfPath)} is empty`);
        if (pdf.subarray(0, 4).toString("latin1") !== "%PDF") throw new DocError(`${file}: ${relative(ROOT, pdfPath)} does not start with %PDF`);
        const pages = pageCount(pdf);
        built.push({ file, pdfPath, pages, bytes: statSync(pdfPath).size, ms: Date.now() - t0 });
        console.log(`✓ ${relative(ROOT, pdfPath)}: ${pages ?? "?"} pages, ${Math.round(pdf.length / 1024)} kB (${Date.now() - t0} ms)`);
      } catch (error) {
        const message = error instanceof DocError ? error.message : `${file}: ${error?.stack ?? error}`;
        failures.push(message);
        console.error(`✗ ${message}`);
      }
    }
  } finally {
    await browser.close();
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failures.length) {
    console.error(`\nbuild-docs: ${failures.length} of ${files.length} document${files.length === 1 ? "" : "s"} failed (${seconds} s)`);
    process.exit(1);
  }
  console.log(`build-docs: ${built.length} document${built.length === 1 ? "" : "s"}${CHECK ? " (links checked)" : ""} in ${seconds} s → ${relative(ROOT, OUT)}/`);
}

main().catch((error) => {
  console.error(`build-docs: ${error instanceof DocError ? error.message : (error?.stack ?? error)}`);
  process.exit(1);
});
