// Entry of the embeddable widget bundle (linka-widget.js): mounts ChatWidget on the page.
import { ChatSession } from "./session";
import css from "./widget.css?inline";
import { ChatWidget } from "./widget";

// The styles travel inside the script: an insurer's page loads one file.
const style = document.createElement("style");
style.textContent = css;
document.head.append(style);

// Options on the script tag: data-linka-api (the API's origin), data-linka-queue (the queue).
const script = document.querySelector<HTMLScriptElement>("script[data-linka-api], script[data-linka-queue]");
const apiBase = (script?.dataset["linkaApi"] ?? new URL(import.meta.url).origin).replace(/\/+$/, "");
const queueId = script?.dataset["linkaQueue"] ?? null;
const root = document.createElement("div");
document.body.append(root);
new ChatWidget(root, new ChatSession({ apiBase, storage: window.sessionStorage, queueId }));
