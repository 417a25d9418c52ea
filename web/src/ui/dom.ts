// A very small element builder. Text always goes in as text nodes (never as HTML), so
// user-provided strings such as a notice's text cannot inject markup.

export type Child = Node | string | number | null | undefined | false;

type Listener = (event: Event) => void;

export interface Props {
  class?: string;
  on?: Partial<Record<keyof HTMLElementEventMap, Listener>>;
  [attribute: string]: string | number | boolean | null | undefined | Props["on"];
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props) {
    for (const [name, value] of Object.entries(props)) {
      if (name === "on" && typeof value === "object" && value !== null) {
        for (const [event, listener] of Object.entries(value)) {
          if (listener) {
            element.addEventListener(event, listener as Listener);
          }
        }
      } else if (name === "class" && typeof value === "string") {
        element.className = value;
      } else if (value === true) {
        element.setAttribute(name, "");
      } else if (typeof value === "string" || typeof value === "number") {
        element.setAttribute(name, String(value));
      }
    }
  }
  append(element, children);
  return element;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/**
 * Runs `render`, which replaces what `container` shows, and gives the focus back to the element
 * of the new content that has the `data-testid` of the element focused before (with its caret),
 * so a page re-drawn while the user types — its data arriving, a live event — does not swallow
 * what they type next.
 */
export function keepingFocus(container: Element, render: () => void): void {
  const before = document.activeElement;
  const testId = before instanceof HTMLElement && container.contains(before) ? before.dataset["testid"] : undefined;
  const caret = before instanceof HTMLInputElement || before instanceof HTMLTextAreaElement ? selectionOf(before) : null;
  render();
  if (!testId || (before instanceof Element && container.contains(before))) return;
  const again = container.querySelector<HTMLElement>(`[data-testid="${CSS.escape(testId)}"]`);
  if (!again) return;
  again.focus({ preventScroll: true });
  if (caret && (again instanceof HTMLInputElement || again instanceof HTMLTextAreaElement)) {
    try {
      again.setSelectionRange(caret[0], caret[1]);
    } catch {
      // Inputs without a caret (number, e-mail) keep the browser's own.
    }
  }
}

function selectionOf(input: HTMLInputElement | HTMLTextAreaElement): [number, number] | null {
  try {
    return input.selectionStart === null || input.selectionEnd === null ? null : [input.selectionStart, input.selectionEnd];
  } catch {
    return null;
  }
}
